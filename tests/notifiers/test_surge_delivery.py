"""A surge alert through every channel format, from the real pipeline to real receivers.

Titles and links are hostile (markup, mentions, a javascript: link): each format shows the
surge and its articles with that text escaped for where it lands.
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from monitor.bus import EventBus
from monitor.models import Article, Rule, RuleMatch, Surge
from monitor.notifiers.routing import enqueue_alert
from monitor.pipeline import Pipeline

from .conftest import T0

FEEDS = ("reuters", "bbc", "ap")
HOSTILE = '<script>alert("x")</script> *bold* @everyone <!channel> [x](http://evil.example)'


class OneRule:
    """A matcher with one surge rule matching every article (the pipeline takes any)."""

    def __init__(self) -> None:
        self.rule = Rule(
            id="hormuz",
            title="Hormuz closure",
            severity="high",
            query="Hormuz",
            surge=Surge(3, timedelta(hours=2)),
        )

    def match(self, article: Article) -> list[RuleMatch]:
        return [RuleMatch(self.rule)]

    def get(self, rule_id: str) -> Rule | None:
        return self.rule if rule_id == self.rule.id else None


def articles() -> list[Article]:
    """Twelve articles within 40 minutes, the last the third feed's (more than an alert shows)."""
    out = []
    for i in range(12):
        out.append(
            Article(
                id=f"s{i}",
                feed=FEEDS[2] if i == 11 else FEEDS[i % 2],
                title=f"Hormuz {i} {HOSTILE}",
                link="javascript:alert(1)" if i == 0 else f"https://news.example/{i}?a=1&b=2",
                published=T0 - timedelta(hours=1) + timedelta(minutes=3 * i),
                content="Hormuz",
            )
        )
    return out


async def test_a_surge_reaches_every_format_escaped_and_listed(
    make_harness, webhook_receiver, tmp_path: Path
) -> None:
    channels: dict[str, dict[str, object]] = {
        "console": {"type": "console"},
        "console-json": {"type": "console", "format": "json"},
        "folder": {"type": "folder", "path": str(tmp_path / "mail")},
    }
    for fmt in ("json", "slack", "teams", "discord"):
        channels[fmt] = {"type": "webhook", "url": webhook_receiver.url(f"/{fmt}"), "format": fmt}
    h = make_harness(channels=channels, default_channels=list(channels))
    matcher = OneRule()
    pipeline = Pipeline(
        h.db,
        lambda: matcher,
        lambda uow, alert, now: enqueue_alert(uow, alert, h.settings, now),
        EventBus(),
        retention=timedelta(days=30),
    )
    raised = []
    for feed in FEEDS:
        result = await pipeline.ingest([a for a in articles() if a.feed == feed], now=T0)
        raised.extend(result.alerts)
    assert len(raised) == 1, "one surge, one alert"
    alert_id = raised[0].alert_id
    assert await h.notifier.deliver_due(T0) == len(channels)

    by_path = {r.path: r for r in webhook_receiver.requests}
    payload = by_path["/json"].json()
    surge = payload["surge"]
    assert payload["id"] == alert_id and payload["type"] == "alert"
    assert surge["sources"] == 3 and surge["within"] == "2h" and surge["total"] == 12
    assert surge["feeds"] == list(FEEDS) and surge["more"] == 2
    assert len(surge["articles"]) == 10
    assert surge["articles"][0]["link"] is None  # the javascript: link is not shown
    assert surge["articles"][1]["link"] == "https://news.example/1?a=1&b=2"

    slack = json.dumps(by_path["/slack"].json())
    assert "*Surge:*" in slack and "and 2 more" in slack
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    assert "javascript:" not in slack

    teams = json.dumps(by_path["/teams"].json())
    assert "SURGE" in teams and "and 2 more" in teams and "javascript:" not in teams
    assert "\\\\*bold\\\\*" in teams  # markdown escaped

    discord = by_path["/discord"].json()
    assert discord["allowed_mentions"] == {"parse": []}
    embed = discord["embeds"][0]
    assert embed["title"].startswith("HIGH · SURGE · Hormuz closure")
    assert "and 2 more" in embed["description"] and "javascript:" not in embed["description"]
    assert "\\*bold\\*" in embed["description"]

    out = h.stdout.getvalue()
    assert "— SURGE" in out and "Surge: 3 feeds carried 12 matching article(s) within 2h" in out
    assert "… and 2 more" in out
    console_json = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert console_json and console_json[0]["surge"]["total"] == 12

    [eml] = list((tmp_path / "mail").glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "[HIGH] Hormuz closure: surge: 3 feeds within 2h"
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://news.example/1?a=1&amp;b=2"' in html
    assert "&hellip; and 2 more" in html


def test_surge_rule_survives_the_store_round_trip() -> None:
    from monitor.store.codec import rule_from_json, rule_to_json

    rule = OneRule().rule
    assert rule_from_json(rule_to_json(rule)) == rule
    plain = Rule(id="p", title="P", severity="low", query="x")
    assert rule_from_json(rule_to_json(plain)).surge is None


def test_surges_in_a_digest_say_so_and_text_alerts_keep_their_lines() -> None:
    """Regression (alert.txt): the Source line ran into "Also in:" on one line."""
    from zoneinfo import ZoneInfo

    from monitor.notifiers.sample import sample_alert, sample_surge
    from monitor.notifiers.templates import Templates
    from monitor.notifiers.views import alert_view, digest_view

    tz = ZoneInfo("UTC")
    templates = Templates(None, tz)
    text = templates.text(alert_view(sample_alert(T0), tz))
    assert "Source:     sample-feed\nAlso in:    sample-wire\n" in text
    digest = digest_view(
        id="d", name="daily", title="Daily", kind="digest", alerts=[sample_surge(T0)],
        created_at=T0, tz=tz, max_items=10,
    )  # fmt: skip
    line = "3 feeds carried 14 matching article(s) within 2h"
    assert f"Surge: {line}" in templates.text(digest)
    assert f"<strong>Surge:</strong> {line}" in templates.html(digest)
