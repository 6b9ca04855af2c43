"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click

from monitor.config import ConfigError, Settings, load_settings
from monitor.logs import setup_logging
from monitor.store import Store, StoreError
from monitor.store import open_store as _open_store

F = TypeVar("F", bound=Callable[..., Any])


def config_options(func: F) -> F:
    """``--config``, ``--log-level`` and ``--log-format``, for commands that read the config."""
    func = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log line format (default: the config's logging.format).",
    )(func)
    func = click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR.")(func)
    func = click.option(
        "--config",
        "config_path",
        envvar="MONITOR_CONFIG",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML config file (env MONITOR_CONFIG). Without one, the embedded defaults.",
    )(func)
    return func


def settings_from(
    config_path: str | None, log_level: str | None = None, log_format: str | None = None
) -> Settings:
    """Load settings and set up logging; a bad config exits 2 with the key and the problem."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(2)
    setup_logging(log_level or settings.logging.level, log_format or settings.logging.format)
    return settings


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """The store, or exit 2 with the reason (a newer schema, an unreadable file...).

    Opening takes the write lock only when the schema must be migrated, so reading commands
    run beside a daemon that is writing.
    """
    try:
        return _open_store(
            settings.store_url, migrate_schema=migrate, lock_timeout=settings.store.lock_timeout
        )
    except StoreError as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(2)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table, as a terminal user reads it."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
