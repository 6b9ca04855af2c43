"""``monitor run``, ``monitor poll --once``, ``monitor feeds list``, ``monitor alerts list``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import click

from monitor.app import App, StartupError, configured_feeds
from monitor.cli.common import config_options, open_store, settings_from, table, when, zone
from monitor.config import FeedConfig, Settings
from monitor.daemon import Daemon
from monitor.notifiers import NotifierConfigError
from monitor.store import StoreError
from monitor.store.surges import SurgeCount


def _open_app(settings: Settings) -> App:
    try:
        return App.open(settings)
    except (StartupError, StoreError, NotifierConfigError) as exc:
        click.echo(f"monitor: cannot start: {exc}", err=True)
        sys.exit(2)


def _run_with_store(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """A store that is locked or unreachable mid-run is a message and exit 2, not a traceback."""
    try:
        return asyncio.run(main())
    except StoreError as exc:
        click.echo(f"monitor: {exc}", err=True)
        return 2


@click.command()
@config_options
def run(config_path: str | None, log_level: str | None, log_format: str | None) -> None:
    """Run the daemon: poll every feed on its schedule, match, alert, until SIGTERM/Ctrl-C."""
    settings = settings_from(config_path, log_level, log_format)

    async def main() -> int:
        async with _open_app(settings) as app:
            try:
                return await Daemon(app).run()
            except StartupError as exc:  # e.g. http.listen's port is in use
                click.echo(f"monitor: cannot start: {exc}", err=True)
                return 2

    sys.exit(_run_with_store(main))


@click.command()
@click.option("--once", is_flag=True, required=True, help="One cycle, deliver, exit.")
@click.option(
    "--all", "poll_all", is_flag=True,
    help="Poll every feed now, not only those whose poll time came.",
)  # fmt: skip
@config_options
def poll(
    once: bool,
    poll_all: bool,
    config_path: str | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """One cycle for cron and scripts: poll the feeds that are due, release held summaries,
    build the digests whose cron time passed, deliver everything due.

    Feeds another instance is polling are left to it. Exits 0 when every feed polled was
    fine, 1 when some feed failed.
    """
    settings = settings_from(config_path, log_level, log_format)

    async def main() -> int:
        async with _open_app(settings) as app:
            results = await app.poll_all(force=poll_all)
            await app.housekeeping()
            await app.notifier.catch_up()
            while await app.notifier.deliver_due():
                pass
        return 1 if any(r.failed for r in results) else 0

    sys.exit(_run_with_store(main))


@click.group()
def feeds() -> None:
    """Inspect the configured feeds."""


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@config_options
def feeds_list(
    as_json: bool, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """Each feed's tags and health: last success, last error, failures, next poll."""
    settings = settings_from(config_path, log_level, log_format)
    configured = {f.name: f for f in _feeds_or_exit(settings)}
    tz = zone(settings)
    store = open_store(settings)
    try:
        with store.read() as uow:
            states = {s.name: s for s in uow.feeds.all()}
    finally:
        store.close()
    rows = []
    for name, feed in configured.items():
        s = states.get(name)
        rows.append(
            {
                "name": name,
                "url": s.url if s else feed.url,
                "tags": list(feed.tags),
                "last_success": when(s.last_success_at, tz) if s else "never polled",
                "status": s.last_status if s else None,
                "failures": s.failures if s else 0,
                "last_error": s.last_error if s else None,
                "next_poll": when(s.next_poll_at, tz) if s else "at start",
                "articles": s.articles_seen if s else 0,
            }
        )
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(
        table(
            [
                "FEED",
                "TAGS",
                "LAST SUCCESS",
                "STATUS",
                "FAILURES",
                "NEXT POLL",
                "ARTICLES",
                "LAST ERROR",
            ],
            [
                [
                    r["name"],
                    _short(", ".join(configured[str(r["name"])].tags), 30) or None,
                    r["last_success"],
                    r["status"],
                    r["failures"],
                    r["next_poll"],
                    r["articles"],
                    _short(str(r["last_error"]) if r["last_error"] else None),
                ]
                for r in rows
            ],
        )
    )


def _feeds_or_exit(settings: Settings) -> list[FeedConfig]:
    """The configured feeds, or exit 2 naming the file when the OPML list is unreadable."""
    try:
        return configured_feeds(settings)
    except (OSError, ValueError) as exc:  # OpmlError, or an OPML entry that is no valid feed
        click.echo(f"monitor: cannot read the feeds: {exc}", err=True)
        sys.exit(2)


@click.group()
def alerts() -> None:
    """Inspect recent alerts."""


@alerts.command("list")
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert.")
@config_options
def alerts_list(
    limit: int,
    as_json: bool,
    config_path: str | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Recent alerts, newest first."""
    settings = settings_from(config_path, log_level, log_format)
    tz = zone(settings)
    store = open_store(settings)
    try:
        with store.read() as uow:
            rows = uow.alerts.recent(limit=limit)
    finally:
        store.close()
    if as_json:
        for r in rows:
            record = {"id": r.id, "rule_id": r.rule_id, "severity": r.severity,
                      "created_at": r.created_at.isoformat(), "title": r.title, "feed": r.feed,
                      "link": r.link, "sources": list(r.sources),
                      "surge": r.surge._asdict() if r.surge else None,
                      }  # fmt: skip
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    click.echo(
        table(
            ["CREATED", "SEVERITY", "RULE", "FEED", "TITLE", "ALERT"],
            [
                [
                    when(r.created_at, tz),
                    r.severity,
                    r.rule_id,
                    ", ".join(r.sources),
                    _short(_surge_title(r.surge, r.title), 60),
                    r.id,
                ]
                for r in rows
            ],
        )
    )


def _surge_title(surge: SurgeCount | None, title: str) -> str:
    """A surge alert's line says so, with what it counted (its article completed it)."""
    if surge is None:
        return title
    return f"SURGE {surge.feeds} feeds, {surge.articles} articles: {title}"


def _short(text: str | None, width: int = 70) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def register(main: click.Group) -> None:
    """Add this module's commands to the ``monitor`` group."""
    for command in (run, poll, feeds, alerts):
        main.add_command(command)
