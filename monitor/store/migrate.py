"""Schema migrations (Alembic) on either backend, applied under a lock.

Two instances starting together cannot race: PostgreSQL takes an advisory lock, SQLite the
write lock, and each re-reads the revision once it holds the lock. Checking whether a store
is current takes no lock, so read-only commands never queue behind a writer. A store made
before Alembic (its own ``schema_version`` table, version 3) is stamped at the baseline.
"""

from __future__ import annotations

import logging
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from monitor.store.engine import WRITE
from monitor.store.errors import StoreError

logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-open chatter is not news

LEGACY_VERSION = 3  # the last schema_version of the store before Alembic
_PG_LOCK = 0x6E6D6F6E  # pg_advisory_lock key for migrations ("nmon")


@cache
def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "monitor.store:migrations")
    return cfg


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(_config())
    return {r.revision for r in script.walk_revisions()}


def current_revision(conn: Connection) -> str | None:
    """The store's revision; the baseline for a store from before Alembic; None when new."""
    rev = MigrationContext.configure(conn).get_current_revision()
    if rev is not None:
        if rev not in _known_revisions():
            raise StoreError(
                f"the store's schema (revision {rev}) is newer than this monitor knows "
                f"({head_revision()}): upgrade the monitor",
                kind="schema",
            )
        return rev
    tables = set(inspect(conn).get_table_names())
    if "schema_version" in tables:
        legacy = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
        if legacy == LEGACY_VERSION:
            return "legacy"
        raise StoreError(
            f"the store's schema version {legacy} is "
            + ("newer than this monitor knows: upgrade the monitor" if (legacy or 0) > 3
               else "from an unreleased development version: start a new store"),
            kind="schema",
        )  # fmt: skip
    return None


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        rev = current_revision(conn)
        conn.rollback()
    return rev == head_revision()


def migrate(engine: Engine) -> str | None:
    """Bring the store to the newest schema; returns the revision it started from."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK})
            conn.commit()
            try:
                return _upgrade(conn)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})
                conn.commit()
        conn = conn.execution_options(**{WRITE: True})
        return _upgrade(conn)


def _upgrade(conn: Connection) -> str | None:
    with conn.begin():
        start = current_revision(conn)
        if start == head_revision():
            return start
        cfg = _config()
        cfg.attributes["connection"] = conn
        if start == "legacy":
            command.stamp(cfg, "0001")
        command.upgrade(cfg, "head")
    return start
