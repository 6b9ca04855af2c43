"""The daemon: an APScheduler job per feed, delivery, digests, hot reload, clean stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.config import FeedConfig
from monitor.rules import watch_rules
from monitor.store.db import utcnow

log = logging.getLogger("monitor")

HOUSEKEEPING_INTERVAL = timedelta(hours=6)


class Daemon:
    """Runs until SIGTERM/SIGINT, then finishes in-flight work, flushes and closes the store."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = asyncio.Event()
        self._polls: set[asyncio.Task[object]] = set()
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def _poll(self, feed: FeedConfig) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._polls.add(task)
        try:
            await self.app.poller.poll(feed)
            next_at = self.app.poller.next_poll_at(feed)
            job = self.scheduler.get_job(_job_id(feed))
            if job is not None and next_at is not None and not self.stop.is_set():
                job.modify(next_run_time=next_at)  # adaptive interval and back-off
        finally:
            self._polls.discard(task)

    async def _housekeeping(self) -> None:
        # A coroutine, so APScheduler runs it on the loop: a plain function would run in a
        # worker thread and share the store's connection with the loop.
        self.app.housekeeping()

    def _schedule(self) -> None:
        now = utcnow()
        for feed in self.app.feeds:
            self.scheduler.add_job(
                self._poll,
                IntervalTrigger(seconds=feed.interval, jitter=max(1, feed.interval // 10)),
                args=[feed],
                id=_job_id(feed),
                name=f"poll {feed.name}",
                max_instances=1,  # never two polls of one feed at once
                coalesce=True,
                misfire_grace_time=feed.interval,
                next_run_time=now,  # the first poll of each feed runs at start
            )
        self.scheduler.add_job(
            self._housekeeping,
            IntervalTrigger(seconds=HOUSEKEEPING_INTERVAL.total_seconds()),
            id="housekeeping",
            name="housekeeping",
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
        self.app.notifier.schedule(self.scheduler)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        self._schedule()
        self.scheduler.start()
        tasks = [asyncio.create_task(self.app.notifier.run(self.stop), name="delivery")]
        settings = self.app.settings
        if settings.rules.watch:
            tasks.append(
                asyncio.create_task(
                    watch_rules(
                        settings.rules.paths,
                        reload=self.app.reload_rules,
                        stop=self.stop,
                        channels=list(settings.channels),
                        digests=list(settings.digests),
                    ),
                    name="rules-watch",
                )
            )
        log.info(
            "monitor running: %d feeds; send SIGTERM or press Ctrl-C to stop", len(self.app.feeds)
        )
        await self.stop.wait()
        log.info("stopping: finishing in-flight polls and deliveries")
        self.scheduler.shutdown(wait=False)
        if self._polls:
            await asyncio.gather(*self._polls, return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("stopped")
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s", sig.name)
        self.stop.set()


def _job_id(feed: FeedConfig) -> str:
    return f"feed:{feed.name}"
