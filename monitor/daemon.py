"""The daemon: polls the feeds the store says are due, delivers, runs cron work, reloads rules.

Feeds are claimed from the database (several instances share them); APScheduler keeps the
cron work — digests, held summaries, housekeeping — each run claimed or idempotent in the
store, so it happens once however many instances run.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.clock import utcnow
from monitor.rules import watch_rules

log = logging.getLogger("monitor")

HOUSEKEEPING_INTERVAL = timedelta(hours=6)


class Daemon:
    """Runs until SIGTERM/SIGINT, then finishes in-flight work, flushes and closes the store."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def _housekeeping(self) -> None:
        # A coroutine, so APScheduler runs it on the loop; the store work itself runs on the
        # store's threads.
        try:
            await self.app.housekeeping()
        except Exception:
            log.exception("housekeeping failed; it runs again at the next interval")

    def _schedule(self) -> None:
        now = utcnow()
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
        await self.app.scheduler.sync()
        self._schedule()
        self.scheduler.start()
        tasks = [
            asyncio.create_task(self.app.notifier.run(self.stop), name="delivery"),
            asyncio.create_task(self.app.scheduler.run(self.stop), name="feeds"),
            asyncio.create_task(self.app.instance.run(self.stop), name="heartbeat"),
        ]
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
                        max_file_bytes=settings.rules.max_file_bytes,
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
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.app.scheduler.drain()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("stopped")
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s", sig.name)
        self.stop.set()
