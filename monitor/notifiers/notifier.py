"""The notifiers, composed: channels from the registry, the outbox worker, digests, summaries.

Each job lives in its own module; this façade wires them from the settings so that the daemon
and ``monitor poll --once`` call the same functions. The outbox gives at-least-once delivery:
a crash after sending and before marking leaves the row claimed; once its lease (or its
instance) is gone it is sent again with the same Message-ID / webhook-id.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from monitor.bus import EventBus
from monitor.clock import utcnow
from monitor.events import AlertQueued
from monitor.notifiers import registry
from monitor.notifiers.channels import Channel
from monitor.notifiers.config import NotifierSettings
from monitor.notifiers.digest_service import DigestService
from monitor.notifiers.errors import NotifierConfigError
from monitor.notifiers.items import load_item
from monitor.notifiers.routing import channels_for
from monitor.notifiers.sample import sample_alert
from monitor.notifiers.summaries import SummaryReleaser
from monitor.notifiers.templates import Templates
from monitor.notifiers.views import alert_view
from monitor.notifiers.worker import OutboxWorker
from monitor.store import Store
from monitor.store.digests import HOLD_PREFIX

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler


class Notifier:
    """Delivers what :func:`monitor.notifiers.routing.enqueue_alert` wrote to the outbox."""

    def __init__(
        self,
        settings: NotifierSettings,
        store: Store,
        bus: EventBus,
        *,
        stream: TextIO | None = None,
        rng: random.Random | None = None,
        owner: str = "local",
        dead_after: timedelta = timedelta(seconds=30),
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.tz = ZoneInfo(settings.timezone)
        self.templates = Templates(settings.templates_dir, self.tz)
        for name in settings.digests:
            if name.startswith(HOLD_PREFIX):
                raise NotifierConfigError(
                    f"digests.{name}: names starting with {HOLD_PREFIX!r} are reserved"
                )
        self.channels: dict[str, Channel] = {
            name: registry.build(name, cfg, self.templates, stream)
            for name, cfg in settings.channels.items()
        }
        self.worker = OutboxWorker(
            store,
            self.channels,
            partial(load_item, digests=dict(settings.digests), tz=self.tz),
            bus,
            settings.delivery,
            owner=owner,
            dead_after=dead_after,
            rng=rng,
        )
        self.digests = DigestService(
            store, settings.digests, lambda: settings.effective_default_channels,
            owner=owner, wake=self.wake,
        )  # fmt: skip
        self.summaries = SummaryReleaser(
            store, lambda alert: channels_for(alert, settings), wake=self.wake
        )
        bus.subscribe(AlertQueued, lambda _event: self.wake())

    def wake(self) -> None:
        self.worker.wake()

    async def deliver_due(self, now: datetime | None = None) -> int:
        return await self.worker.deliver_due(now)

    async def run(self, stop: asyncio.Event) -> None:
        await self.worker.run(stop)

    async def run_digest(self, name: str, now: datetime | None = None) -> str | None:
        return await self.digests.run_digest(name, now)

    async def flush_held(self, now: datetime | None = None) -> list[str]:
        return await self.summaries.flush_held(now)

    async def catch_up(self, now: datetime | None = None) -> None:
        """Cron mode: release the summaries whose time came and run the digests that are due."""
        await self.flush_held(now)
        await self.digests.run_due(now)

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add the digest cron jobs and the job releasing held (storm/cooldown) summaries."""
        from apscheduler.triggers.interval import IntervalTrigger

        from monitor.notifiers.digest_service import trigger_for

        for name, cfg in self.settings.digests.items():
            scheduler.add_job(
                self.digests.fire,
                trigger_for(cfg),
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

    async def send_test(self, channel: str, now: datetime | None = None) -> str:
        """Send the sample alert straight to one channel (not through the outbox)."""
        sender = self.channels.get(channel)
        if sender is None:
            known = ", ".join(sorted(self.channels)) or "none"
            raise NotifierConfigError(f"unknown channel {channel!r} (configured: {known})")
        alert = sample_alert(now or utcnow())
        test_id = f"send-test-{alert.id}"
        await sender.send(alert_view(alert, self.tz), test_id)
        return test_id

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
