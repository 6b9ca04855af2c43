"""Held alerts (storm protection, cooldown) released as one summary once their time comes.

Idempotent across instances: the summary id derives from the group and its release time,
and the outbox ids from the summary (or the single alert) and the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from monitor.clock import utcnow
from monitor.models import Alert
from monitor.store import Store, UnitOfWork
from monitor.store.digests import digest_id

log = logging.getLogger(__name__)

ChannelsFor = Callable[[Alert], tuple[str, ...]]


class SummaryReleaser:
    def __init__(self, store: Store, channels_for: ChannelsFor, *, wake: Callable[[], None]):
        self._store = store
        self._channels_for = channels_for
        self._wake = wake

    async def flush_held(self, now: datetime | None = None) -> list[str]:
        """Release the groups whose time came: one summary each (or the alert itself when only
        one was held). Returns the ids of the summaries/alerts released."""
        at = now or utcnow()
        released, lines = await self._store.run(lambda uow: self._release(uow, at))
        for line in lines:
            log.info("%s", line)
        if released:
            self._wake()
        return released

    def _release(self, uow: UnitOfWork, now: datetime) -> tuple[list[str], list[str]]:
        released: list[str] = []
        lines: list[str] = []
        for name, due_at in uow.digests.due_hold_groups(now=now):
            alert_ids = uow.digests.pending_alert_ids(name, until=max(now, due_at))
            first = uow.alerts.load(alert_ids[0]) if alert_ids else None
            if first is None:
                continue
            summary_id = digest_id(name, due_at)
            uow.digests.create(id=summary_id, name=name, created_at=now, alert_ids=alert_ids)
            channels = self._channels_for(first)
            for channel in channels:
                if len(alert_ids) == 1:
                    uow.outbox.enqueue(channel=channel, now=now, alert_id=alert_ids[0])
                else:
                    uow.outbox.enqueue(channel=channel, now=now, digest_id=summary_id)
            released.append(alert_ids[0] if len(alert_ids) == 1 else summary_id)
            lines.append(
                f"rule {first.rule.id}: {len(alert_ids)} held alert(s) released to "
                + ", ".join(channels)
            )
        return released, lines
