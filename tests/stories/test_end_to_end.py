"""Two feeds carry the same wire story, edited: `monitor poll --once` raises one alert, and
`monitor alerts list --json`, the alert itself and the status page list both feeds."""

from __future__ import annotations

import asyncio
import json
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner

from monitor.app import App
from monitor.cli import main
from monitor.clock import utcnow
from monitor.config import load_settings
from monitor.http.status import render_status

RULE = """
rules:
  - id: drones
    title: Drone attacks
    severity: high
    query: 'drone* NEAR/3 attack*'
"""
LEDE = (
    "Iran-backed militias launched a drone attack on a base housing U.S. troops in eastern "
    "Syria on Tuesday, a Pentagon spokesman said, the third such attack this week."
)


def rss(title: str, guid: str, link: str, description: str) -> str:
    when = format_datetime(utcnow())
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://example.org/</link><description>d</description><item>"
        f"<title>{title}</title><guid>{guid}</guid><link>{link}</link>"
        f"<pubDate>{when}</pubDate><description>{description}</description>"
        "</item></channel></rss>"
    )


def desk(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "wire.rss").write_text(
        rss("Iranian proxies launch drone attack on U.S. base in eastern Syria",
            "wire-1", "https://wire.example/world/1", LEDE),
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "outlet.rss").write_text(
        rss("Iranian proxies launch drone attack on US base in Syria | Outlet",
            "outlet-77", "https://outlet.example/iran?utm_source=wire&amp;utm_medium=rss",
            "BEIRUT (Outlet) - " + LEDE + " Read more at Outlet."),
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULE, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        'data_dir = "data"\n'
        f"{extra}"
        '[[feeds]]\nname = "wire"\nurl = "wire.rss"\nbackfill_hours = -1\n'
        '[[feeds]]\nname = "outlet"\nurl = "outlet.rss"\nbackfill_hours = -1\n'
        '[rules]\npaths = ["rules"]\nwatch = false\n'
        '[channels.mail]\ntype = "folder"\npath = "mail"\n',
        encoding="utf-8",
    )
    return config


def alerts(config: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["alerts", "list", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_one_alert_per_story_listing_every_source(tmp_path: Path) -> None:
    config = desk(tmp_path)
    poll = CliRunner().invoke(main, ["poll", "--once", "--config", str(config)])
    assert poll.exit_code == 0, poll.output
    [alert] = alerts(config)
    assert sorted(alert["sources"]) == ["outlet", "wire"]  # type: ignore[arg-type]
    [mail] = (tmp_path / "data" / "mail").glob("*.eml")
    other = "outlet" if alert["feed"] == "wire" else "wire"
    assert f"Also in:    {other}" in mail.read_text(encoding="utf-8").splitlines()

    async def status_page() -> str:
        async with App.open(load_settings(config)) as app:
            return await render_status(app, instance_id=app.instance.id)

    page = asyncio.run(status_page())
    assert '<span class="pill">outlet</span>' in page and '<span class="pill">wire</span>' in page


def test_with_stories_disabled_each_copy_alerts(tmp_path: Path) -> None:
    config = desk(tmp_path, "[stories]\nenabled = false\n")
    poll = CliRunner().invoke(main, ["poll", "--once", "--config", str(config)])
    assert poll.exit_code == 0, poll.output
    assert sorted(a["feed"] for a in alerts(config)) == ["outlet", "wire"]  # type: ignore[type-var]
