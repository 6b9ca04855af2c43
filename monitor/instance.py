"""This process as one of several instances on a store: registration, heartbeat, leases.

The heartbeat renews the leases on what the instance holds (feeds being polled, outbox rows
being sent), so slow work is not taken over while it is alive; an instance whose heartbeat
stops is dead after ``dead_after_seconds`` and the others take its work at once. A restarted
instance on the same host frees the claims of its crashed predecessor immediately.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from monitor import __version__
from monitor.clock import utcnow
from monitor.store import Store, StoreError, UnitOfWork
from monitor.store.config import StoreConfig
from monitor.store.instances import new_instance_id

log = logging.getLogger("monitor.instance")


class Instance:
    def __init__(self, store: Store, config: StoreConfig, *, lease: timedelta) -> None:
        self.id = new_instance_id()
        self._store = store
        self._config = config
        self._lease = lease  # the longest lease renewed (outbox rows)
        self.dead_after = timedelta(seconds=config.dead_after_seconds)
        self.feed_lease = timedelta(seconds=config.feed_lease_seconds)

    async def register(self) -> None:
        def work(uow: UnitOfWork) -> list[str]:
            gone = uow.instances.forget_dead_on_this_host()
            uow.instances.register(self.id, now=utcnow(), version=__version__)
            return gone

        gone = await self._store.run(work)
        if gone:
            log.info("took over the work of crashed instance(s) %s", ", ".join(gone))
        log.info("instance %s registered", self.id)

    async def beat(self) -> None:
        now = utcnow()

        def work(uow: UnitOfWork) -> None:
            if not uow.instances.heartbeat(self.id, now=now):
                uow.instances.register(self.id, now=now, version=__version__)
            uow.feeds.renew_leases(self.id, until=now + self.feed_lease)
            uow.outbox.renew_leases(self.id, until=now + self._lease)
            uow.instances.prune(before=now - timedelta(days=1))

        await self._store.run(work, control=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until ``stop``; a failed beat is logged and tried again next time."""
        while not stop.is_set():
            try:
                await self.beat()
            except StoreError as exc:
                log.warning("heartbeat failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._config.heartbeat_seconds)

    async def unregister(self) -> None:
        """At a clean stop: free every claim so the other instances go on without waiting."""

        def work(uow: UnitOfWork) -> None:
            uow.feeds.release_all(self.id)
            uow.outbox.release_all(self.id)
            uow.instances.unregister(self.id)

        try:
            await self._store.run(work)
        except StoreError as exc:
            log.warning("could not unregister instance %s: %s", self.id, exc)
