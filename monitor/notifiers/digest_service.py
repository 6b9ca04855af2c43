"""Scheduled digests: collect the waiting alerts at each cron time, once across instances.

A fire time is claimed in the store (``job_runs``), so however many instances run — or a
cron-driven ``poll --once`` beside a daemon — a digest is built once per fire time; a run that
finds fire times it missed builds one digest for the latest of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from monitor.clock import utcnow
from monitor.notifiers.config import DigestConfig
from monitor.notifiers.errors import NotifierConfigError
from monitor.store import Store, UnitOfWork
from monitor.store.digests import digest_id

log = logging.getLogger(__name__)


def trigger_for(cfg: DigestConfig) -> CronTrigger:
    return CronTrigger.from_crontab(cfg.cron, timezone=ZoneInfo(cfg.timezone))


def latest_fire_time(trigger: CronTrigger, *, after: datetime, now: datetime) -> datetime | None:
    """The last fire time in (after, now], or None when none fell in between."""
    latest = None
    t = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while t is not None and t <= now:
        latest = t
        t = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
    return latest


def _last_run(uow: UnitOfWork, name: str) -> datetime | None:
    return uow.jobs.last_run(f"digest:{name}") or uow.digests.last_created(name)


def next_fire_time(cfg: DigestConfig, now: datetime) -> datetime | None:
    t = trigger_for(cfg).get_next_fire_time(None, now)
    return t if isinstance(t, datetime) else None


class DigestStatus(NamedTuple):
    name: str
    cron: str
    last_run: datetime | None
    next_run: datetime | None


class DigestService:
    def __init__(
        self,
        store: Store,
        digests: Mapping[str, DigestConfig],
        default_channels: Callable[[], Sequence[str]],
        *,
        owner: str,
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._digests = digests
        self._default_channels = default_channels
        self._owner = owner
        self._wake = wake

    def _config(self, name: str) -> DigestConfig:
        cfg = self._digests.get(name)
        if cfg is None:
            known = ", ".join(sorted(self._digests)) or "none"
            raise NotifierConfigError(f"digest {name!r} is not configured (configured: {known})")
        return cfg

    async def run_digest(self, name: str, now: datetime | None = None) -> str | None:
        """Build digest ``name`` for fire time ``now`` and queue its sends.

        Returns the digest id, or None when there was nothing to send (and ``send_empty`` is
        off) or this fire time was already run (here or by another instance).
        """
        cfg = self._config(name)
        at = now or utcnow()
        channels = list(cfg.channels or self._default_channels())

        def work(uow: UnitOfWork) -> tuple[str | None, int]:
            did = digest_id(name, at)
            if not uow.jobs.claim(f"digest:{name}", at, instance=self._owner, now=utcnow()):
                return (did if uow.digests.get(did) else None), -1
            alert_ids = uow.digests.pending_alert_ids(name, until=at)
            if not alert_ids and not cfg.send_empty:
                return None, 0
            if uow.digests.create(id=did, name=name, created_at=at, alert_ids=alert_ids):
                for channel in channels:
                    uow.outbox.enqueue(channel=channel, now=at, digest_id=did)
            return did, len(alert_ids)

        did, count = await self._store.run(work)
        if count < 0:
            log.info("digest %s: fire time %s already run", name, at.isoformat())
        elif did is None:
            log.info("digest %s: no alerts waiting, nothing sent", name)
        else:
            log.info("digest %s (%s): %d alert(s) queued for %s", name, did, count,
                     ", ".join(channels))  # fmt: skip
            self._wake()
        return did

    async def fire(self, name: str) -> str | None:
        """The daemon's cron job: run the fire time that just passed (the same in every
        instance, so only one of them builds it)."""
        at = await self.due_fire_time(name, utcnow(), window=timedelta(hours=1))
        return await self.run_digest(name, at) if at is not None else None

    async def due_fire_time(
        self, name: str, now: datetime, *, window: timedelta | None = None
    ) -> datetime | None:
        """The latest fire time since the digest last ran (or since its oldest waiting
        alert, when it never ran); None when no fire time has passed since."""
        cfg = self._config(name)

        def read(uow: UnitOfWork) -> datetime | None:
            last = _last_run(uow, name)
            if last is None:
                last = uow.digests.oldest_pending(name)
            return last

        since = await self._store.run(read, write=False)
        if window is not None:
            since = max(since, now - window) if since else now - window
        if since is None:
            return None
        return latest_fire_time(trigger_for(cfg), after=since, now=now)

    async def run_due(self, now: datetime | None = None) -> list[str]:
        """Cron mode: every digest whose fire time passed since it last ran, once each."""
        now = now or utcnow()
        built = []
        for name in self._digests:
            at = await self.due_fire_time(name, now)
            if at is not None:
                did = await self.run_digest(name, at)
                if did is not None:
                    built.append(did)
        return built

    async def status(self, now: datetime | None = None) -> list[DigestStatus]:
        """Schedule, last run and next run per digest, for ``monitor digests list``."""
        now = now or utcnow()
        rows: list[DigestStatus] = []
        for name, cfg in sorted(self._digests.items()):
            last = await self._store.run(partial(_last_run, name=name), write=False)
            rows.append(DigestStatus(name, cfg.cron, last, next_fire_time(cfg, now)))
        return rows
