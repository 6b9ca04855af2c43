"""``monitor store migrate``, ``monitor store copy --to URL``, ``monitor instances``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click

from monitor.cli.common import config_options, open_store, settings_from, table, when, zone
from monitor.store import StoreError
from monitor.store import open_store as open_store_url
from monitor.store.copy import copy_store
from monitor.store.migrate import head_revision


@click.group("store")
def store_group() -> None:
    """Manage the store: migrate its schema, copy it to another backend."""


@store_group.command("migrate")
@config_options
def store_migrate(config_path: str | None, log_level: str | None, log_format: str | None) -> None:
    """Bring the store's schema up to date (``monitor run`` does this at start, under a lock)."""
    settings = settings_from(config_path, log_level, log_format)
    store = open_store(settings, migrate=True)
    click.echo(f"{store.display_url}: schema at revision {head_revision()}")
    store.close()


@store_group.command("copy")
@click.option("--to", "to_url", required=True, help="The target store URL (e.g. postgresql://…).")
@config_options
def store_copy(
    to_url: str, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """Copy the configured store into an empty store at --to (migrated first)."""
    settings = settings_from(config_path, log_level, log_format)
    source = open_store(settings, migrate=True)
    try:
        target = open_store_url(to_url, lock_timeout=settings.store.lock_timeout)
    except StoreError as exc:
        source.close()
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(2)
    try:
        counts = copy_store(source, target)
    except StoreError as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(1)
    finally:
        source.close()
        target.close()
    for name, n in counts.items():
        click.echo(f"{name}: {n} row(s)")
    click.echo(f"copied {source.display_url} to {target.display_url}")


@click.command("instances")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per instance.")
@config_options
def instances(
    as_json: bool, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """The instances sharing this store: alive or not, and what each holds now."""
    settings = settings_from(config_path, log_level, log_format)
    store = open_store(settings)
    try:
        with store.read() as uow:
            rows = uow.instances.all()
            feeds = uow.feeds.all()
            held = uow.outbox.held_by()
    finally:
        store.close()
    now = datetime.now(UTC)
    dead_after = timedelta(seconds=settings.store.dead_after_seconds)
    records = []
    for r in rows:
        polling = sorted(f.name for f in feeds if f.lease_owner == r.id)
        records.append(
            {"id": r.id, "host": r.host, "pid": r.pid, "version": r.version,
             "alive": now - r.heartbeat_at < dead_after, "started_at": r.started_at.isoformat(),
             "heartbeat_at": r.heartbeat_at.isoformat(), "polling": polling,
             "sending": held.get(r.id, 0)}
        )  # fmt: skip
    if as_json:
        for rec in records:
            click.echo(json.dumps(rec))
        return
    if not records:
        click.echo("no instance is running")
        return
    tz = zone(settings)
    click.echo(
        table(
            ["INSTANCE", "ALIVE", "STARTED", "HEARTBEAT", "POLLING", "SENDING"],
            [
                [
                    rec["id"],
                    "yes" if rec["alive"] else "no",
                    when(datetime.fromisoformat(str(rec["started_at"])), tz),
                    when(datetime.fromisoformat(str(rec["heartbeat_at"])), tz),
                    ", ".join(rec["polling"]) or "-",  # type: ignore[arg-type]
                    rec["sending"],
                ]
                for rec in records
            ],
        )
    )


def register(main: click.Group) -> None:
    main.add_command(store_group)
    main.add_command(instances)
