"""The outbox worker: claim due rows per channel, send each within a deadline, mark it.

Each channel has its own loop and concurrency, so a slow or hanging endpoint holds only its
own rows; a channel claims no more rows than it can send at once, so a crash strands few.
A stop waits at most ``delivery.stop_grace`` seconds; a send cut short is given back unsent
(due again at once, not counted as an attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from monitor.bus import EventBus
from monitor.clock import utcnow
from monitor.events import AlertDelivered, AlertFailed
from monitor.notifiers.backoff import retry_delay
from monitor.notifiers.channels import Channel, Item
from monitor.notifiers.config import DeliveryConfig
from monitor.notifiers.errors import DeliveryError
from monitor.store import Store, StoreError, UnitOfWork
from monitor.store.outbox import OutboxRow

log = logging.getLogger(__name__)

LoadItem = Callable[[UnitOfWork, OutboxRow], Item]


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        load: LoadItem,
        bus: EventBus,
        config: DeliveryConfig,
        *,
        owner: str,
        dead_after: timedelta,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._load = load
        self._bus = bus
        self._config = config
        self._owner = owner
        self._dead_after = dead_after
        self._rng = rng or random.Random()
        self._wake: dict[str, asyncio.Event] = {name: asyncio.Event() for name in channels}

    def wake(self) -> None:
        """Start the next delivery pass now instead of at the next poll."""
        for event in self._wake.values():
            event.set()

    async def _claim(
        self, now: datetime, limit: int, channels: list[str] | None
    ) -> list[OutboxRow]:
        d = self._config
        return await self._store.run(
            lambda uow: uow.outbox.claim_due(
                owner=self._owner, now=now, lease=timedelta(seconds=d.lease_seconds),
                dead_after=self._dead_after, limit=limit, channels=channels,
            )
        )  # fmt: skip

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Send everything due now, every channel side by side; returns how many were sent.

        Rows for channels that are not configured are claimed too, and end dead with the reason.
        """
        now = now or utcnow()
        sent = 0
        while True:
            rows = await self._claim(now, self._config.batch_size, None)
            if not rows:
                return sent
            by_channel: dict[str, list[OutboxRow]] = {}
            for row in rows:
                by_channel.setdefault(row.channel, []).append(row)
            results = await asyncio.gather(
                *(self._send_all(name, batch, now) for name, batch in by_channel.items())
            )
            sent += sum(results)

    async def _send_all(self, channel: str, rows: list[OutboxRow], now: datetime) -> int:
        limit = asyncio.Semaphore(self._config.concurrency)

        async def one(row: OutboxRow) -> bool:
            async with limit:
                return await self.deliver(row, now)

        return sum(await asyncio.gather(*(one(r) for r in rows)))

    async def deliver(self, row: OutboxRow, now: datetime) -> bool:
        what = f"alert {row.alert_id}" if row.alert_id else f"digest {row.digest_id}"
        try:
            channel = self._channels.get(row.channel)
            if channel is None:
                raise DeliveryError(f"channel {row.channel!r} is not configured", permanent=True)
            item = await self._store.run(lambda uow: self._load(uow, row), write=False)
            try:
                async with asyncio.timeout(self._config.send_deadline):
                    await channel.send(item, row.id)
            except TimeoutError:
                raise DeliveryError(
                    f"no answer within the send deadline ({self._config.send_deadline:g} s)"
                ) from None
        except asyncio.CancelledError:  # a stop cut the send short: due again, unsent
            await asyncio.shield(self._give_back(row))
            raise
        except DeliveryError as exc:
            await self._failed(row, what, exc, now)
            return False
        except StoreError as exc:
            log.warning("outbox %s: %s", row.id, exc)
            return False
        except Exception as exc:  # a bug in a channel must not stop the other deliveries
            log.exception("channel %s crashed delivering %s", row.channel, what)
            await self._failed(row, what, DeliveryError(f"{type(exc).__name__}: {exc}"), now)
            return False
        marked = await self._store.run(lambda uow: uow.outbox.mark_sent(row, now=now))
        if not marked:
            log.warning("outbox %s: lease lost while sending %s to %s", row.id, what, row.channel)
        self._bus.publish(
            AlertDelivered(
                outbox_id=row.id,
                channel=row.channel,
                alert_id=row.alert_id,
                digest_id=row.digest_id,
                attempt=row.attempts,
                created_at=row.created_at,
            )
        )
        return True

    async def _give_back(self, row: OutboxRow) -> None:
        try:
            await self._store.run(lambda uow: uow.outbox.release(row))
        except StoreError as exc:
            log.warning("outbox %s: could not give the row back: %s", row.id, exc)

    async def _failed(self, row: OutboxRow, what: str, exc: DeliveryError, now: datetime) -> None:
        d = self._config
        final = exc.permanent or row.attempts >= d.max_attempts
        delay = 0.0
        if not final:
            delay = retry_delay(row.attempts, d, self._rng, exc.retry_after)

        def work(uow: UnitOfWork) -> None:
            if final:
                uow.outbox.mark_dead(row, error=exc.reason)
            else:
                next_at = now + timedelta(seconds=delay)
                uow.outbox.mark_retry(row, next_attempt_at=next_at, error=exc.reason)

        await self._store.run(work)
        self._bus.publish(
            AlertFailed(
                outbox_id=row.id,
                channel=row.channel,
                reason=exc.reason,
                final=final,
                attempts=row.attempts,
                max_attempts=d.max_attempts,
                retry_in=None if final else delay,
                what=what,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        """One loop per channel until ``stop``; then at most ``stop_grace`` for sends to end."""
        loops = [
            asyncio.create_task(self._channel_loop(name, stop), name=f"deliver {name}")
            for name in self._channels
        ]
        loops.append(asyncio.create_task(self._orphans(stop), name="deliver orphans"))
        await stop.wait()
        _done, pending = await asyncio.wait(loops, timeout=self._config.stop_grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "stop: %d channel(s) still sending after %g s, their rows stay due",
                len(pending), self._config.stop_grace,
            )  # fmt: skip
            await asyncio.gather(*pending, return_exceptions=True)

    async def _channel_loop(self, channel: str, stop: asyncio.Event) -> None:
        wake = self._wake[channel]
        slots = self._config.concurrency
        sending: set[asyncio.Task[bool]] = set()
        try:
            while not stop.is_set():
                wake.clear()
                free = slots - len(sending)
                rows: list[OutboxRow] = []
                if free > 0:
                    try:
                        rows = await self._claim(utcnow(), free, [channel])
                    except StoreError as exc:
                        log.warning("outbox %s: could not claim: %s", channel, exc)
                for row in rows:
                    task = asyncio.create_task(self.deliver(row, utcnow()))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                if len(rows) == free and free > 0:
                    await asyncio.sleep(0)
                    continue  # more may be due: claim again as slots free up
                waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
                try:
                    await asyncio.wait(
                        waiters | sending,
                        timeout=self._config.poll_interval,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    for w in waiters:
                        w.cancel()
            if sending:
                await asyncio.gather(*sending, return_exceptions=True)
        except asyncio.CancelledError:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise

    async def _orphans(self, stop: asyncio.Event) -> None:
        """Rows for a channel no longer configured end dead, with the reason, instead of waiting."""
        known = list(self._channels)
        while not stop.is_set():
            try:
                rows = await self._store.run(
                    lambda uow: uow.outbox.claim_due(
                        owner=self._owner, now=utcnow(), lease=timedelta(minutes=5),
                        dead_after=self._dead_after, limit=50, exclude_channels=known,
                    )
                )  # fmt: skip
                for row in rows:
                    await self.deliver(row, utcnow())
            except StoreError as exc:
                log.warning("outbox: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=60)
