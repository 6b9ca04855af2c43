"""Which feed is polled when, decided in the database so several instances share the work.

An instance claims due feeds (``next_poll_at`` passed, no live instance holding them) with a
lease, polls them, and the poll's record sets the next time and frees the claim. No feed is
polled by two instances within its interval; a dead instance's feeds are free at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from monitor.clock import utcnow
from monitor.events import FeedPolled
from monitor.instance import Instance
from monitor.poller import Poller
from monitor.sources.config import FeedConfig
from monitor.store import Store, StoreError, UnitOfWork
from monitor.store.feeds import FeedState

log = logging.getLogger("monitor.schedule")

TICK_SECONDS = 1.0  # how often an idle instance looks for due feeds


class FeedScheduler:
    def __init__(
        self,
        store: Store,
        poller: Poller,
        feeds: Sequence[FeedConfig],
        instance: Instance,
        *,
        max_in_flight: int,
    ) -> None:
        self._store = store
        self._poller = poller
        self._feeds = {f.name: f for f in feeds}
        self._instance = instance
        self._max = max(1, max_in_flight)
        self._in_flight: set[asyncio.Task[FeedPolled]] = set()

    async def sync(self) -> None:
        """Make sure every configured feed has its row (a changed URL starts afresh)."""

        def work(uow: UnitOfWork) -> None:
            for feed in self._feeds.values():
                uow.feeds.ensure(feed.name, feed.url)

        await self._store.run(work)

    async def claim(self, limit: int, *, force: bool = False) -> list[FeedState]:
        inst = self._instance
        names = list(self._feeds)
        return await self._store.run(
            lambda uow: uow.feeds.claim_due(
                names, owner=inst.id, now=utcnow(), lease=inst.feed_lease,
                dead_after=inst.dead_after, limit=limit, force=force,
            )
        )  # fmt: skip

    def _start(self, state: FeedState) -> asyncio.Task[FeedPolled]:
        feed = self._feeds[state.name]
        task = asyncio.create_task(self._poller.poll(feed, state), name=f"poll {feed.name}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    async def poll_due(self, *, force: bool = False) -> list[FeedPolled]:
        """Poll every feed that is due now (``force``: every feed no one else is polling)."""
        await self.sync()
        started: list[asyncio.Task[FeedPolled]] = []
        claimed: set[str] = set()
        while True:
            free = self._max - len(self._in_flight)
            states = [s for s in await self.claim(free, force=force) if s.name not in claimed]
            for state in states:
                claimed.add(state.name)
                started.append(self._start(state))
            if not self._in_flight:
                return [t.result() for t in started]
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and poll until ``stop``; polls in progress are left for :meth:`drain`."""
        while not stop.is_set():
            free = self._max - len(self._in_flight)
            if free > 0:
                try:
                    for state in await self.claim(free):
                        self._start(state)
                except StoreError as exc:
                    log.warning("could not claim due feeds: %s", exc)
            waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
            try:
                await asyncio.wait(
                    waiters | set(self._in_flight),
                    timeout=TICK_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for w in waiters:
                    w.cancel()

    async def drain(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
