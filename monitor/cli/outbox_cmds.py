"""``monitor outbox list``, ``monitor outbox retry ID|--dead``, ``monitor send-test CHANNEL``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import get_args

import click

from monitor.bus import EventBus
from monitor.cli.common import config_options, open_store, settings_from, table, when, zone
from monitor.notifiers import DeliveryError, Notifier, NotifierConfigError
from monitor.store import outbox


@click.group("outbox")
def outbox_group() -> None:
    """Inspect and retry deliveries (one row per alert or digest and channel)."""


@outbox_group.command("list")
@click.option(
    "--status", type=click.Choice(list(get_args(outbox.Status))), help="Only rows in this state."
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@config_options
def outbox_list(
    status: outbox.Status | None,
    limit: int,
    as_json: bool,
    config_path: str | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Newest deliveries first, with their state, attempts and last error."""
    settings = settings_from(config_path, log_level, log_format)
    tz = zone(settings)
    store = open_store(settings)
    try:
        with store.read() as uow:
            rows = uow.outbox.rows(status=status, limit=limit)
            counts = uow.outbox.counts()
    finally:
        store.close()
    if as_json:
        for r in rows:
            click.echo(
                json.dumps(
                    {
                        "id": r.id,
                        "channel": r.channel,
                        "status": r.status,
                        "attempts": r.attempts,
                        "alert_id": r.alert_id,
                        "digest_id": r.digest_id,
                        "created_at": r.created_at.isoformat(),
                        "next_attempt_at": r.next_attempt_at.isoformat(),
                        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                        "last_error": r.last_error,
                    }
                )
            )
        return
    click.echo(
        table(
            ["ID", "CHANNEL", "STATUS", "TRIES", "FOR", "CREATED", "NEXT/SENT", "LAST ERROR"],
            [
                [
                    r.id,
                    r.channel,
                    r.status,
                    r.attempts,
                    f"alert {r.alert_id}" if r.alert_id else f"digest {r.digest_id}",
                    when(r.created_at, tz),
                    when(r.sent_at if r.status == "sent" else r.next_attempt_at, tz),
                    (r.last_error or "")[:80],
                ]
                for r in rows
            ],
        )
    )
    click.echo("\n" + ", ".join(f"{n} {s}" for s, n in counts.items()))


@outbox_group.command("retry")
@click.argument("row_id", required=False)
@click.option("--dead", is_flag=True, help="Retry every dead row.")
@config_options
def outbox_retry(
    row_id: str | None,
    dead: bool,
    config_path: str | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Make a dead or waiting row (or all dead rows) due now, with a fresh attempt budget.

    The running daemon picks them up at its next delivery pass.
    """
    if (row_id is None) == (not dead):
        raise click.UsageError("give either a row ID or --dead")
    settings = settings_from(config_path, log_level, log_format)
    store = open_store(settings)
    now = datetime.now(UTC)
    try:
        with store.write() as uow:
            if dead:
                n = uow.outbox.requeue_dead(now=now)
                click.echo(f"{n} dead row(s) queued again")
                return
            assert row_id is not None
            row = uow.outbox.get(row_id)
            if row is None:
                click.echo(f"monitor: no outbox row {row_id}", err=True)
                sys.exit(1)
            if not uow.outbox.requeue(row_id, now=now):
                click.echo(f"monitor: row {row_id} is {row.status}; nothing to retry", err=True)
                sys.exit(1)
            click.echo(f"row {row_id} ({row.channel}) queued again")
    finally:
        store.close()


@click.command("send-test")
@click.argument("channel")
@config_options
def send_test(
    channel: str, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """Send a sample alert to CHANNEL now (not through the outbox) to check its settings."""
    settings = settings_from(config_path, log_level, log_format)
    store = open_store(settings)

    async def main() -> int:
        try:
            notifier = Notifier(settings, store, EventBus())
        except NotifierConfigError as exc:
            click.echo(f"monitor: {exc}", err=True)
            return 2
        try:
            test_id = await notifier.send_test(channel)
        except NotifierConfigError as exc:
            click.echo(f"monitor: {exc}", err=True)
            return 2
        except DeliveryError as exc:
            kind = "permanent" if exc.permanent else "temporary"
            click.echo(f"monitor: send-test {channel} failed ({kind}): {exc.reason}", err=True)
            return 1
        finally:
            await notifier.aclose()
        click.echo(f"sent a sample alert to {channel} ({test_id})", err=True)
        return 0

    try:
        code = asyncio.run(main())
    finally:
        store.close()
    sys.exit(code)


def register(main: click.Group) -> None:
    """Add this module's commands to the ``monitor`` group."""
    main.add_command(outbox_group)
    main.add_command(send_test)
