"""The store's port: a unit of work (one transaction) over one repository per aggregate.

Domain code asks for ``store.write()`` / ``store.read()`` (synchronous, any thread) or
``await store.run(fn)`` (the same, on the store's worker threads, so the event loop never
waits for the database). Backend types and SQL stay behind this module.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from monitor.store.alerts import AlertRepo
from monitor.store.articles import ArticleRepo
from monitor.store.digests import DigestRepo
from monitor.store.engine import WRITE, make_engine
from monitor.store.errors import StoreBusy, StoreError
from monitor.store.feeds import FeedRepo
from monitor.store.instances import InstanceRepo
from monitor.store.jobs import JobRepo
from monitor.store.migrate import is_current, migrate
from monitor.store.outbox import OutboxRepo
from monitor.store.stories import StoryRepo
from monitor.store.surges import SurgeRepo
from monitor.store.urls import Backend, StoreURL, parse_store_url

log = logging.getLogger("monitor.store")
T = TypeVar("T")


class UnitOfWork:
    """One transaction: everything done through it commits together or not at all."""

    def __init__(self, conn: Connection, backend: Backend) -> None:
        self.backend = backend
        self.feeds = FeedRepo(conn)
        self.articles = ArticleRepo(conn)
        self.alerts = AlertRepo(conn)
        self.outbox = OutboxRepo(conn)
        self.digests = DigestRepo(conn)
        self.instances = InstanceRepo(conn)
        self.jobs = JobRepo(conn)
        self.surges = SurgeRepo(conn)
        self.stories = StoryRepo(conn)
        self._conn = conn

    def lock(self, key: str) -> None:
        """Serialise a decision (storm, cooldown) across instances until this unit ends.

        SQLite write transactions already hold the database's one write lock.
        """
        if self.backend == "postgresql":
            k = _lock_number(key)
            self._conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": k})

    def lock_all(self, keys: Iterable[str]) -> None:
        """:meth:`lock` for many keys in one round trip, taken in the order of their lock
        numbers, so that transactions locking overlapping sets cannot deadlock."""
        if self.backend == "postgresql":
            numbers = sorted({_lock_number(key) for key in keys})
            if numbers:
                self._conn.execute(_LOCK_ALL, {"ks": numbers})


def _lock_number(key: str) -> int:
    return zlib.crc32(key.encode()) - 2**31


# The aggregate consumes the sorted keys in order, taking one lock per key.
_LOCK_ALL = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(CAST(:ks AS bigint[])) AS k "
    "ORDER BY k) AS sorted_keys"
)


def _is_busy(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    sqlstate = getattr(orig, "sqlstate", None)
    return sqlstate in ("55P03", "40001", "40P01")  # lock timeout, serialization, deadlock


class Store:
    """An open store: ``with store.write() as uow: uow.alerts.insert(...)``."""

    def __init__(self, engine: Engine, url: StoreURL, *, workers: int = 4) -> None:
        self.engine = engine
        self.url = url
        self.backend: Backend = url.backend
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store")
        # Heartbeats and lease renewals never queue behind a long ingest: a busy instance
        # that cannot say it lives has its work taken over while it is still doing it.
        self._control = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-control")

    @property
    def display_url(self) -> str:
        return self.url.display

    @contextmanager
    def _unit(self, *, write: bool) -> Iterator[UnitOfWork]:
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE: write})
                with conn.begin():
                    yield UnitOfWork(conn, self.backend)
        except (OperationalError, DBAPIError) as exc:
            if _is_busy(exc):
                raise StoreBusy(
                    f"{self.display_url}: the store stayed locked by another writer: "
                    f"{str(getattr(exc, 'orig', exc)).strip()}"
                ) from exc
            raise StoreError(f"{self.display_url}: {str(exc.orig or exc).strip()}") from exc

    def write(self) -> AbstractContextManager[UnitOfWork]:
        return self._unit(write=True)

    def read(self) -> AbstractContextManager[UnitOfWork]:
        return self._unit(write=False)

    def call(self, fn: Callable[[UnitOfWork], T], *, write: bool = True, retries: int = 3) -> T:
        """Run ``fn`` in one unit of work, again from the start when the store was busy."""
        for attempt in range(retries + 1):
            try:
                with self._unit(write=write) as uow:
                    return fn(uow)
            except StoreBusy:
                if attempt == retries:
                    raise
                log.warning("store busy, retrying (attempt %d of %d)", attempt + 1, retries)
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    async def run(
        self, fn: Callable[[UnitOfWork], T], *, write: bool = True, control: bool = False
    ) -> T:
        """:meth:`call` on a store thread: the event loop goes on while the database works.

        ``control``: on the thread kept for heartbeats, which no other work waits on.
        """
        loop = asyncio.get_running_loop()
        executor = self._control if control else self._executor
        return await loop.run_in_executor(executor, lambda: self.call(fn, write=write))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._control.shutdown(wait=True)
        self.engine.dispose()


def open_store(url: str, *, migrate_schema: bool = True, lock_timeout: float = 10.0) -> Store:
    """Open the store named by ``url``; bring its schema up to date unless told not to.

    ``migrate_schema=False`` (read-only commands) refuses a store that is not current
    instead of taking the write lock to migrate it.
    """
    parsed = parse_store_url(url)
    engine = make_engine(parsed, lock_timeout=lock_timeout)
    try:
        if not is_current(engine):
            if not migrate_schema:
                raise StoreError(
                    f"{parsed.display}: the store's schema is not current: run "
                    "`monitor store migrate` (or start the daemon) first",
                    kind="schema",
                )
            start = migrate(engine)
            if start is None:
                log.debug("store %s created", parsed.display)
            else:
                log.info("store %s migrated from revision %s", parsed.display, start)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        if _is_busy(exc):
            raise StoreBusy(f"{parsed.display}: locked while migrating: {exc.orig}") from None
        raise StoreError(f"{parsed.display}: {exc.orig or exc}") from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, parsed, workers=2 if parsed.backend == "sqlite" else 4)
