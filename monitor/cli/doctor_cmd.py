"""``monitor doctor``: is everything the daemon needs in order? One line per check, nothing sent."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from zoneinfo import ZoneInfo

import click

from monitor.app import configured_feeds, load_ruleset
from monitor.bus import EventBus
from monitor.cli.common import config_options, settings_from
from monitor.clock import utcnow
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.notifiers import Notifier, NotifierConfigError
from monitor.notifiers.config import WebhookChannel
from monitor.notifiers.probe import ProbeFailed, probe
from monitor.notifiers.sample import sample_alert
from monitor.notifiers.templates import Templates
from monitor.notifiers.views import alert_view
from monitor.store import Store, open_store

Report = Callable[[bool, str, str], None]


def _rules(settings: Settings, report: Report) -> None:
    result = load_ruleset(settings)
    if result.ruleset is None:
        report(False, "rules", f"{len(result.errors)} error(s), first: {result.errors[0]}")
    else:
        report(True, "rules", f"{len(result.ruleset.rules)} rule(s), version "
               f"{result.ruleset.version}, {len(result.warnings)} warning(s)")  # fmt: skip


def _feeds(settings: Settings, report: Report) -> None:
    try:
        report(True, "feeds", f"{len(configured_feeds(settings))} enabled")
    except (OSError, ValueError) as exc:
        report(False, "feeds", f"cannot read the feeds: {exc}")


def _templates(settings: Settings, report: Report) -> None:
    try:
        templates = Templates(settings.templates_dir, ZoneInfo(settings.timezone))
        view = alert_view(sample_alert(utcnow()), ZoneInfo(settings.timezone))
        templates.text(view)
        templates.html(view)
        formats = {c.format for c in settings.channels.values() if isinstance(c, WebhookChannel)}
        for fmt in sorted(str(f) for f in formats):
            templates.webhook_body(fmt, view)
    except Exception as exc:  # a broken override template, whatever jinja says
        report(False, "templates", str(exc))
        return
    report(True, "templates", f"alert text, HTML and {len(formats)} webhook format(s) render")


def _store(settings: Settings, report: Report) -> Store | None:
    try:
        store = open_store(settings.store_url, lock_timeout=settings.store.lock_timeout)
        with store.read() as uow:
            feeds = len(uow.feeds.all())
    except MonitorError as exc:
        report(False, "store", str(exc))
        return None
    report(True, "store", f"{store.display_url}: schema current, {feeds} feed(s) known")
    return store


async def _channels(settings: Settings, store: Store, report: Report) -> None:
    try:
        notifier = Notifier(settings, store, EventBus())
    except NotifierConfigError as exc:
        report(False, "channels", str(exc))
        return
    try:
        for name, config in settings.channels.items():
            try:
                report(True, f"channel {name}", await probe(config))
            except ProbeFailed as exc:
                report(False, f"channel {name}", str(exc))
    finally:
        await notifier.aclose()


@click.command("doctor")
@config_options
def doctor(config_path: str | None, log_level: str | None, log_format: str | None) -> None:
    """Check the config, rules, templates and store, and reach each channel without sending.

    Exit 0 when everything is in order, 1 on any problem.
    """
    settings = settings_from(config_path, log_level or "ERROR", log_format)
    problems = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal problems
        problems += not ok
        click.echo(f"{'ok  ' if ok else 'FAIL'}  {what}: {detail}")

    report(True, "config", config_path or "embedded defaults")
    _rules(settings, report)
    _feeds(settings, report)
    _templates(settings, report)
    store = _store(settings, report)
    if store is not None:
        try:
            asyncio.run(_channels(settings, store, report))
        finally:
            store.close()
    sys.exit(1 if problems else 0)


def register(main: click.Group) -> None:
    main.add_command(doctor)
