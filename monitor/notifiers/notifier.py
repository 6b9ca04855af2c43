"""The notifier service: checks its configuration at start, then drains the outbox.

The outbox gives at-least-once delivery: rows are claimed with a lease, sent, then marked.
A crash after sending and before marking leaves the row claimed; when the lease expires it
is sent again with the same Message-ID / webhook-id, so the receiver can recognise it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from monitor.bus import EventBus
from monitor.events import AlertDelivered, AlertFailed, AlertQueued
from monitor.notifiers import registry
from monitor.notifiers.backoff import retry_delay
from monitor.notifiers.channels import Channel, Item
from monitor.notifiers.config import DigestConfig
from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.routing import channels_for
from monitor.notifiers.sample import sample_alert
from monitor.notifiers.templates import Templates
from monitor.notifiers.views import alert_view, digest_view
from monitor.store import Database, digests, outbox
from monitor.store.alerts import load_alert

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.config import Settings

log = logging.getLogger(__name__)
SUMMARY_MAX_ITEMS = 100


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Delivers what :func:`monitor.notifiers.routing.enqueue_alert` wrote to the outbox."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: EventBus,
        *,
        stream: TextIO | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.tz = ZoneInfo(settings.timezone)
        self.templates = Templates(settings.templates_dir, self.tz)
        self.channels: dict[str, Channel] = {
            name: registry.build(name, cfg, self.templates, stream)
            for name, cfg in settings.channels.items()
        }
        for name in settings.digests:
            if name.startswith(digests.HOLD_PREFIX):
                raise NotifierConfigError(
                    f"digests.{name}: names starting with {digests.HOLD_PREFIX!r} are reserved"
                )
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        bus.subscribe(AlertQueued, lambda _event: self.wake())

    # -- delivery ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Start the next delivery pass now instead of at the next poll."""
        self._wake.set()

    async def deliver_due(self, now: datetime | None = None) -> int:
        """One pass: claim due rows, send them, mark them; returns how many were sent."""
        sent, _claimed = await self._pass(now or _utcnow())
        return sent

    async def _pass(self, now: datetime) -> tuple[int, int]:
        d = self.settings.delivery
        with self.db.transaction() as conn:
            rows = outbox.claim_due(
                conn, now=now, lease=timedelta(seconds=d.lease_seconds), limit=d.batch_size
            )
        if not rows:
            return 0, 0
        limit = asyncio.Semaphore(d.concurrency)

        async def one(row: outbox.OutboxRow) -> bool:
            async with limit:
                return await self._deliver(row, now)

        results = await asyncio.gather(*(one(row) for row in rows))
        return sum(results), len(rows)

    def _load(self, row: outbox.OutboxRow) -> Item:
        if row.alert_id is not None:
            alert = load_alert(self.db.conn, row.alert_id)
            if alert is None:
                raise DeliveryError(
                    f"alert {row.alert_id} is no longer in the store", permanent=True
                )
            return alert_view(alert, self.tz)
        assert row.digest_id is not None
        found = digests.get_digest(self.db.conn, row.digest_id)
        if found is None:
            raise DeliveryError(f"digest {row.digest_id} is no longer in the store", permanent=True)
        alerts = [
            a
            for a in (
                load_alert(self.db.conn, i)
                for i in digests.digest_alert_ids(self.db.conn, found.id)
            )
            if a is not None
        ]
        if found.name.startswith(digests.HOLD_PREFIX):
            rule_title = alerts[0].rule.title if alerts else found.name[len(digests.HOLD_PREFIX) :]
            return digest_view(
                id=found.id,
                name=found.name,
                title=f"Summary: {rule_title}",
                kind="summary",
                alerts=alerts,
                created_at=found.created_at,
                tz=self.tz,
                max_items=SUMMARY_MAX_ITEMS,
                reasons=digests.hold_reasons(self.db.conn, found.id),
            )
        cfg = self.settings.digests.get(found.name, DigestConfig())
        return digest_view(
            id=found.id,
            name=found.name,
            title=cfg.title or found.name,
            kind="digest",
            alerts=alerts,
            created_at=found.created_at,
            tz=self.tz,
            max_items=cfg.max_items,
        )

    async def _deliver(self, row: outbox.OutboxRow, now: datetime) -> bool:
        what = f"alert {row.alert_id}" if row.alert_id else f"digest {row.digest_id}"
        try:
            channel = self.channels.get(row.channel)
            if channel is None:
                raise DeliveryError(f"channel {row.channel!r} is not configured", permanent=True)
            item = self._load(row)
            await channel.send(item, row.id)
        except DeliveryError as exc:
            self._failed(row, what, exc, now)
            return False
        except Exception as exc:  # a bug in a channel must not stop the other deliveries
            log.exception("channel %s crashed delivering %s", row.channel, what)
            self._failed(row, what, DeliveryError(f"{type(exc).__name__}: {exc}"), now)
            return False
        with self.db.transaction() as conn:
            marked = outbox.mark_sent(conn, row, now=now)
        if not marked:
            log.warning("outbox %s: lease lost while sending %s to %s", row.id, what, row.channel)
        log.info(
            "delivered %s to %s (outbox %s, attempt %d)", what, row.channel, row.id, row.attempts
        )
        self.bus.publish(
            AlertDelivered(
                outbox_id=row.id,
                channel=row.channel,
                alert_id=row.alert_id,
                digest_id=row.digest_id,
            )
        )
        return True

    def _failed(self, row: outbox.OutboxRow, what: str, exc: DeliveryError, now: datetime) -> None:
        d = self.settings.delivery
        final = exc.permanent or row.attempts >= d.max_attempts
        with self.db.transaction() as conn:
            if final:
                outbox.mark_dead(conn, row, error=exc.reason)
            else:
                delay = retry_delay(row.attempts, d, self._rng, exc.retry_after)
                next_at = now + timedelta(seconds=delay)
                outbox.mark_retry(conn, row, next_attempt_at=next_at, error=exc.reason)
        if final:
            log.error(
                "delivery of %s to %s is dead after %d attempt(s): %s",
                what,
                row.channel,
                row.attempts,
                exc.reason,
            )
        else:
            log.warning(
                "delivery of %s to %s failed (attempt %d of %d), retry in %.0fs: %s",
                what,
                row.channel,
                row.attempts,
                d.max_attempts,
                delay,
                exc.reason,
            )
        self.bus.publish(
            AlertFailed(
                outbox_id=row.id,
                channel=row.channel,
                reason=exc.reason,
                final=final,
                attempts=row.attempts,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a pass in progress finishes before returning."""
        d = self.settings.delivery
        while not stop.is_set():
            self._wake.clear()
            try:
                _sent, claimed = await self._pass(_utcnow())
            except Exception:  # e.g. the store is locked: keep the loop alive
                log.exception("outbox delivery pass failed")
                claimed = 0
            if claimed >= d.batch_size:
                continue
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=d.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()

    # -- digests and summaries ---------------------------------------------------------------

    async def run_digest(self, name: str, now: datetime | None = None) -> str | None:
        """Collect the alerts waiting for digest ``name`` into one digest and queue its sends.

        Returns the digest id, or None when there was nothing to send (and ``send_empty`` is
        off). Running the same fire time twice builds the digest once.
        """
        cfg = self.settings.digests.get(name)
        if cfg is None:
            raise NotifierConfigError(f"digest {name!r} is not configured")
        now = now or _utcnow()
        digest_id = digests.digest_id(name, now)
        channels = cfg.channels or self.settings.effective_default_channels
        with self.db.transaction() as conn:
            if digests.get_digest(conn, digest_id) is not None:
                return digest_id  # this fire time already ran
            alert_ids = digests.pending_alert_ids(conn, name, until=now)
            if not alert_ids and not cfg.send_empty:
                log.info("digest %s: no alerts waiting, nothing sent", name)
                return None
            if digests.create_digest(
                conn, id=digest_id, name=name, created_at=now, alert_ids=alert_ids
            ):
                for channel in channels:
                    outbox.enqueue(conn, channel=channel, now=now, digest_id=digest_id)
        log.info(
            "digest %s (%s): %d alert(s) queued for %s",
            name,
            digest_id,
            len(alert_ids),
            ", ".join(channels),
        )
        self.wake()
        return digest_id

    async def flush_held(self, now: datetime | None = None) -> list[str]:
        """Release the storm/cooldown groups whose time came: one summary each (or the alert
        itself when only one was held). Returns the ids of the summaries/alerts released."""
        now = now or _utcnow()
        released: list[str] = []
        with self.db.transaction() as conn:
            for name, due_at in digests.due_hold_groups(conn, now=now):
                alert_ids = digests.pending_alert_ids(conn, name, until=max(now, due_at))
                first = load_alert(conn, alert_ids[0]) if alert_ids else None
                if first is None:
                    continue
                summary_id = digests.digest_id(name, due_at)
                digests.create_digest(
                    conn, id=summary_id, name=name, created_at=now, alert_ids=alert_ids
                )
                channels = channels_for(first, self.settings)
                for channel in channels:
                    if len(alert_ids) == 1:
                        outbox.enqueue(conn, channel=channel, now=now, alert_id=alert_ids[0])
                    else:
                        outbox.enqueue(conn, channel=channel, now=now, digest_id=summary_id)
                released.append(alert_ids[0] if len(alert_ids) == 1 else summary_id)
                log.info(
                    "rule %s: %d held alert(s) released to %s",
                    first.rule.id,
                    len(alert_ids),
                    ", ".join(channels),
                )
        if released:
            self.wake()
        return released

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add the digest cron jobs and the job releasing held (storm/cooldown) summaries."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        for name, cfg in self.settings.digests.items():
            scheduler.add_job(
                self.run_digest,
                CronTrigger.from_crontab(cfg.cron, timezone=cfg.timezone),
                args=[name],
                id=f"digest:{name}",
                name=f"digest {name}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )
        scheduler.add_job(
            self.flush_held,
            IntervalTrigger(seconds=self.settings.delivery.summary_interval),
            id="notifier:held-summaries",
            name="release held alerts",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    # -- admin ------------------------------------------------------------------------------

    async def send_test(self, channel: str, now: datetime | None = None) -> str:
        """Send the sample alert straight to one channel (not through the outbox)."""
        sender = self.channels.get(channel)
        if sender is None:
            known = ", ".join(sorted(self.channels)) or "none"
            raise NotifierConfigError(f"unknown channel {channel!r} (configured: {known})")
        alert = sample_alert(now or _utcnow())
        test_id = f"send-test-{alert.id}"
        await sender.send(alert_view(alert, self.tz), test_id)
        return test_id

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
