"""Engines for both backends, with the checks a store needs before it is trusted.

SQLite: WAL (readers never wait for the writer), a lock timeout, write transactions that
take the write lock at BEGIN (``BEGIN IMMEDIATE``) so they never fail half-way on a lock
upgrade, and read transactions that take none. A file that is empty or damaged is refused
at start instead of being silently recreated or failing later.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from monitor.store.errors import StoreError
from monitor.store.urls import StoreURL

log = logging.getLogger("monitor.store")

WRITE = "monitor_write"  # execution option: this transaction writes


def sqlite_engine(url: StoreURL, *, lock_timeout: float) -> Engine:
    path = url.path
    assert path is not None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store's directory {path.parent}: {exc.strerror or exc}"
        ) from None
    if _truncated(path):
        raise StoreError(
            f"{path} is an empty file, not a store (was it truncated?). Starting afresh would "
            "alert on every article again: move it away or delete it to start a new store.",
            kind="empty",
        )
    engine = create_engine(url.url, connect_args={"timeout": lock_timeout})

    @event.listens_for(engine, "connect")
    def _connect(dbapi: sqlite3.Connection, _record: Any) -> None:
        dbapi.isolation_level = None  # transactions are begun below, explicitly
        dbapi.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        dbapi.execute("PRAGMA foreign_keys=ON")
        dbapi.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    check_sqlite(engine, url)
    return engine


def _truncated(path: Path) -> bool:
    """An empty file that no process is creating right now (SQLite makes the file empty and
    writes its header with the first transaction, under a ``-wal`` or ``-journal`` file)."""
    for _ in range(10):
        if not path.is_file() or path.stat().st_size > 0:
            return False
        if any(path.with_name(path.name + s).exists() for s in ("-wal", "-journal")):
            return False
        time.sleep(0.1)
    return True


def check_sqlite(engine: Engine, url: StoreURL) -> None:
    """WAL on, and ``PRAGMA quick_check`` passes; else a clear refusal."""
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            mode = raw.execute("PRAGMA journal_mode=WAL").fetchone()
            problems = [r[0] for r in raw.execute("PRAGMA quick_check").fetchall()]
    except (OperationalError, DBAPIError, sqlite3.DatabaseError) as exc:
        engine.dispose()
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig):
            raise StoreError(f"{url.display}: the store is locked by another process: {orig}",
                             kind="locked") from None  # fmt: skip
        raise StoreError(
            f"{url.display} is not a usable store ({orig}): restore it from a backup, or move it "
            "away to start a new one",
            kind="corrupt",
        ) from None
    if problems != ["ok"]:
        engine.dispose()
        raise StoreError(
            f"{url.display} is damaged (integrity check: {'; '.join(problems[:3])}): restore "
            "it from a backup, or move it away to start a new one",
            kind="corrupt",
        )
    if mode is None or str(mode[0]).lower() != "wal":
        # e.g. a file system without shared memory: the store works, readers wait for writers
        log.warning("%s: WAL journal not available, readers will wait for writers", url.display)


def postgresql_engine(url: StoreURL, *, lock_timeout: float) -> Engine:
    engine = create_engine(
        url.url,
        pool_pre_ping=True,
        pool_size=8,
        max_overflow=4,
        connect_args={"connect_timeout": 10, "application_name": "news-monitor"},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        # A lock wait ends in an error the caller retries, never in a hang.
        dbapi.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
        dbapi.commit()

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot connect to {url.display}: {reason}") from None
    return engine


def make_engine(url: StoreURL, *, lock_timeout: float = 10.0) -> Engine:
    if url.backend == "sqlite":
        return sqlite_engine(url, lock_timeout=lock_timeout)
    return postgresql_engine(url, lock_timeout=lock_timeout)
