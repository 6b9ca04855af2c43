"""``monitor digests list`` and ``monitor digests send NAME``."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from monitor.bus import EventBus
from monitor.cli.common import config_options, open_store, settings_from, table, when, zone
from monitor.logs import log_events
from monitor.notifiers import Notifier, NotifierConfigError
from monitor.notifiers.digest_service import DigestStatus


@click.group("digests")
def digests_group() -> None:
    """Scheduled digests: their schedule, last and next run; send one now."""


@digests_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per digest.")
@config_options
def digests_list(
    as_json: bool, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """Each digest's cron schedule, when it last ran and when it runs next."""
    settings = settings_from(config_path, log_level, log_format)
    store = open_store(settings)

    async def main() -> list[DigestStatus]:
        notifier = Notifier(settings, store, EventBus())
        try:
            return list(await notifier.digests.status())
        finally:
            await notifier.aclose()

    try:
        status = asyncio.run(main())
    finally:
        store.close()
    if as_json:
        for d in status:
            last = d.last_run.isoformat() if d.last_run else None
            nxt = d.next_run.isoformat() if d.next_run else None
            click.echo(json.dumps({"name": d.name, "cron": d.cron, "last_run": last,
                                   "next_run": nxt}))  # fmt: skip
        return
    if not status:
        click.echo("no digests are configured")
        return
    tz = zone(settings)
    click.echo(
        table(
            ["DIGEST", "CRON", "LAST RUN", "NEXT RUN"],
            [[d.name, d.cron, when(d.last_run, tz), when(d.next_run, tz)] for d in status],
        )
    )


@digests_group.command("send")
@click.argument("name")
@config_options
def digests_send(
    name: str, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """Build digest NAME from the alerts waiting for it now and deliver it."""
    settings = settings_from(config_path, log_level, log_format)
    store = open_store(settings)

    async def main() -> int:
        bus = EventBus()
        log_events(bus)
        notifier = Notifier(settings, store, bus)
        try:
            did = await notifier.run_digest(name)
            if did is None:
                click.echo(f"digest {name}: no alerts waiting, nothing sent", err=True)
                return 0
            while await notifier.deliver_due():
                pass
            click.echo(f"digest {name} sent ({did})", err=True)
            return 0
        except NotifierConfigError as exc:
            click.echo(f"monitor: {exc}", err=True)
            return 2
        finally:
            await notifier.aclose()

    try:
        code = asyncio.run(main())
    finally:
        store.close()
    sys.exit(code)


def register(main: click.Group) -> None:
    main.add_command(digests_group)
