"""A surge rule as a user runs it: feeds polled, one surge delivered to a real webhook receiver,
then shown by ``alerts list``, the status page, ``backtest`` and ``explain``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner

from monitor.app import App
from monitor.cli import main
from monitor.config import load_settings
from monitor.http.status import render_status
from tests.notifiers.conftest import WebhookReceiver

RULES = """\
rules:
  - id: hormuz
    title: Strait of Hormuz closure
    severity: high
    query: 'Hormuz AND clos*'
    surge: {sources: 3, within: 2h}
    examples:
      match: ["Iran threatens to close the Strait of Hormuz"]
      no_match: ["Shipping through Hormuz is normal"]
"""


def rss(feed: str, items: list[tuple[int, str, datetime]]) -> str:
    body = "".join(
        f"<item><guid>{feed}-{n}</guid><title>{title}</title>"
        f"<link>https://{feed}.example/{n}</link>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for n, title, when in items
    )
    head = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{feed}</title>'
    return f"{head}{body}</channel></rss>"


def setup(tmp_path: Path, receiver: WebhookReceiver) -> Path:
    now = datetime.now(UTC).replace(microsecond=0)
    story = "Iran moves to close the Strait of Hormuz"
    feeds = {
        "reuters": [(1, story, now - timedelta(minutes=90)), (2, f"{story}, tankers wait",
                                                               now - timedelta(minutes=30))],
        "bbc": [(1, f"{story}: AT&amp;T &amp; Q&amp;A", now - timedelta(minutes=60))],
        "ap": [(1, f"{story}: what we know", now - timedelta(minutes=20)),
               (2, "Markets calm elsewhere", now - timedelta(minutes=10))],
    }  # fmt: skip
    entries = []
    for name, items in feeds.items():
        (tmp_path / f"{name}.rss").write_text(rss(name, items), encoding="utf-8")
        entries.append(
            f'[[feeds]]\nname = "{name}"\nurl = "{tmp_path / name}.rss"\nbackfill_hours = -1\n'
        )
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "hormuz.yaml").write_text(RULES, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        + "".join(entries)
        + f'[rules]\npaths = ["{tmp_path / "rules"}"]\nwatch = false\n'
        + f'[channels.hook]\ntype = "webhook"\nurl = "{receiver.url()}"\n',
        encoding="utf-8",
    )
    return config


def test_a_surge_end_to_end(tmp_path: Path, webhook_receiver: WebhookReceiver) -> None:
    config = setup(tmp_path, webhook_receiver)
    runner = CliRunner()
    first = runner.invoke(main, ["poll", "--once", "--config", str(config)])
    assert first.exit_code == 0, first.output
    [request] = webhook_receiver.requests
    payload = request.json()
    assert payload["rule"]["id"] == "hormuz"
    surge = payload["surge"]
    assert sorted(surge["feeds"]) == ["ap", "bbc", "reuters"]
    assert surge["total"] == 4  # reuters 2, bbc 1, ap 1 (ap's other article does not match)
    assert [a["feed"] for a in surge["articles"]] == ["reuters", "bbc", "reuters", "ap"]
    assert surge["articles"][1]["title"].endswith("AT&T & Q&A")  # JSON carries text as is

    again = runner.invoke(main, ["poll", "--once", "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert len(webhook_receiver.requests) == 1, "the surge is not raised twice"

    listed = runner.invoke(main, ["alerts", "list", "--json", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    [record] = [json.loads(line) for line in listed.output.splitlines()]
    assert record["id"] == payload["id"] and record["surge"] == {"feeds": 3, "articles": 4}
    table = runner.invoke(main, ["alerts", "list", "--config", str(config)])
    assert "SURGE 3 feeds, 4 articles" in table.output

    backtest = runner.invoke(main, ["backtest", "--since", "1d", "--config", str(config)])
    assert backtest.exit_code == 0, backtest.output
    assert "surge rule (3 feeds within 2h): 1 surge(s), no alert per article" in backtest.output
    assert "3 feeds (reuters, bbc, ap), 4 article(s)" in backtest.output
    as_json = runner.invoke(main, ["backtest", "--json", "--since", "1d", "--config", str(config)])
    surges = [r["surge"] for r in map(json.loads, as_json.output.splitlines()) if "surge" in r]
    assert len(surges) == 1 and surges[0]["feeds"] == ["reuters", "bbc", "ap"]
    assert surges[0]["start"] == payload["surge"]["start"]  # the pipeline's own decision

    stats = runner.invoke(main, ["rules", "stats", "--config", str(config)])
    assert "surge rules" in stats.output and stats.output.split("surge rules")[1].split()[0] == "1"
    check = runner.invoke(main, ["rules", "check", "--config", str(config)])
    assert "ok: 1 rules (1 alerting on surges)" in check.output


async def test_the_status_page_shows_a_surge(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    config = setup(tmp_path, webhook_receiver)
    settings = load_settings(config)
    async with App.open(settings) as app:
        await app.poll_all()
        html = await render_status(app, instance_id="test")
    assert "<strong>Surge</strong>: 3 feeds carried 4 matching article(s) within 2h" in html
    assert "AT&amp;T &amp; Q&amp;A" in html and "AT&T" not in html


def test_explain_says_whether_articles_make_a_surge(tmp_path: Path) -> None:
    (tmp_path / "hormuz.yaml").write_text(RULES, encoding="utf-8")
    base = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

    def jsonl(feeds: list[str], step: int = 20) -> Path:
        path = tmp_path / f"{'-'.join(feeds)}.jsonl"
        path.write_text(
            "".join(
                json.dumps({"id": f"{f}-{i}", "feed": f, "title": "Iran to close Hormuz",
                            "published": (base + timedelta(minutes=step * i)).isoformat()}) + "\n"
                for i, f in enumerate(feeds)
            ),
            encoding="utf-8",
        )  # fmt: skip
        return path

    runner = CliRunner()
    args = ["explain", "--rules", str(tmp_path / "hormuz.yaml"), "--rule", "hormuz"]
    three = runner.invoke(main, [*args, str(jsonl(["reuters", "bbc", "ap"]))])
    assert three.exit_code == 0, three.output
    assert "is a surge rule: one alert when 3 distinct feeds" in three.output
    assert "these articles would make 1 surge(s):" in three.output
    assert "surge at 2026-05-01 09:40 UTC: 3 feeds (reuters, bbc, ap), 3 article(s)" in three.output
    many = runner.invoke(main, [*args, str(jsonl(["reuters"] * 4 + ["bbc"] * 5 + ["ap"], 5))])
    assert "3 feeds (reuters, bbc, ap), 10 article(s)" in many.output
    assert "… and" not in many.output  # ten are shown
    busy = runner.invoke(main, [*args, str(jsonl(["reuters"] * 5 + ["bbc"] * 6 + ["ap"], 5))])
    assert "12 article(s)" in busy.output and "    … and 2 more" in busy.output
    one = runner.invoke(main, [*args, str(jsonl(["reuters", "reuters", "reuters"]))])
    assert one.exit_code == 0, one.output
    assert "would make no surge: 3 matching article(s) from 1 feed(s)" in one.output


def test_one_wire_article_in_three_feeds_end_to_end(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    """Three feeds carry the very same wire item (one guid, one link): a surge of three
    feeds and one article, delivered once; ``backtest`` counts the feeds the store recorded,
    and ``explain`` the feeds given."""
    config = setup(tmp_path, webhook_receiver)
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
    item = (
        "<item><guid>wire-77</guid><title>Iran says it will close Hormuz</title>"
        f"<link>https://wire.example/77</link><pubDate>{format_datetime(published)}</pubDate>"
        "</item>"
    )
    for name in ("reuters", "bbc", "ap"):
        (tmp_path / f"{name}.rss").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
            f"{item}</channel></rss>",
            encoding="utf-8",
        )
    runner = CliRunner()
    for _ in range(2):  # polled twice: still one surge
        polled = runner.invoke(main, ["poll", "--once", "--config", str(config)])
        assert polled.exit_code == 0, polled.output
    [request] = webhook_receiver.requests
    surge = request.json()["surge"]
    assert sorted(surge["feeds"]) == ["ap", "bbc", "reuters"]
    assert surge["total"] == 1
    assert [a["link"] for a in surge["articles"]] == ["https://wire.example/77"]

    backtest = runner.invoke(main, ["backtest", "--since", "1d", "--config", str(config)])
    assert backtest.exit_code == 0, backtest.output
    assert "1 surge(s)" in backtest.output
    assert "3 feeds (ap, bbc, reuters), 1 article(s)" in backtest.output
    assert "      ap, bbc, reuters: Iran says it will close Hormuz" in backtest.output
    as_json = runner.invoke(main, ["backtest", "--json", "--since", "1d", "--config", str(config)])
    [record] = [r["surge"] for r in map(json.loads, as_json.output.splitlines()) if "surge" in r]
    assert record["total"] == 1 and record["articles"][0]["feeds"] == ["ap", "bbc", "reuters"]
    assert record["start"] == surge["start"]

    (tmp_path / "hormuz.yaml").write_text(RULES, encoding="utf-8")
    lines = tmp_path / "copies.jsonl"
    lines.write_text(
        "".join(
            json.dumps({"id": "wire-77", "feed": feed, "title": "Iran says it will close Hormuz",
                        "published": published.isoformat()}) + "\n"
            for feed in ("reuters", "bbc", "ap", "ap")
        ),
        encoding="utf-8",
    )  # fmt: skip
    explained = runner.invoke(
        main, ["explain", "--rules", str(tmp_path / "hormuz.yaml"), "--rule", "hormuz", str(lines)]
    )
    assert explained.exit_code == 0, explained.output
    assert "3 feeds (ap, bbc, reuters), 1 article(s)" in explained.output
