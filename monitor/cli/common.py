"""Options and helpers shared by the CLI commands.

``--config``, ``--log-level`` and ``--log-format`` are accepted both before the sub-command
(``monitor --config FILE rules check``, kept in :class:`GlobalOptions` on the click context)
and after it (``monitor rules check --config FILE``); the one after wins, and either wins
over ``MONITOR_CONFIG``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from click.core import ParameterSource

from monitor.config import ConfigError, Settings, load_settings
from monitor.logs import setup_logging
from monitor.resources import ResourceMissing
from monitor.store import Store, StoreError
from monitor.store import open_store as _open_store

F = TypeVar("F", bound=Callable[..., Any])

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class GlobalOptions:
    """The options given before the sub-command, for the sub-command to read."""

    config_path: str | None = None
    log_level: str | None = None
    log_format: str | None = None


def _from_command_line(param: str) -> bool:
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.get_parameter_source(param) is ParameterSource.COMMANDLINE


def _group_options() -> GlobalOptions:
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(GlobalOptions) if ctx is not None else None
    return found or GlobalOptions()


def effective_config(value: str | None, param: str = "config_path") -> str | None:
    """The config file to read: the sub-command's ``--config``, else the group's, else env.

    ``value`` is what the sub-command's own option received; when it came only from
    ``MONITOR_CONFIG`` an explicit ``monitor --config FILE`` before the sub-command wins.
    """
    if value is not None and _from_command_line(param):
        return value
    return _group_options().config_path or value


def config_options(func: F) -> F:
    """``--config``, ``--log-level`` and ``--log-format``, for commands that read the config."""
    func = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log line format (default: the config's logging.format).",
    )(func)
    func = click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default=None,
        help="Log level (default: the config's logging.level).",
    )(func)
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
    group = _group_options()
    try:
        settings = load_settings(effective_config(config_path))
    except (ConfigError, ResourceMissing) as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(2)
    setup_logging(
        log_level or group.log_level or settings.logging.level,
        log_format or group.log_format or settings.logging.format,
    )
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


def zone(settings: Settings) -> ZoneInfo:
    """The configured ``timezone``, in which the tables show times."""
    return ZoneInfo(settings.timezone)


def when(value: datetime | None, tz: tzinfo = UTC) -> str:
    """A stored (UTC) time in ``tz``, labelled with the zone: ``2024-05-01 10:30:00 BST``."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table, as a terminal user reads it."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
