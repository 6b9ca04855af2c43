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
from monitor.http.server import HttpService
from monitor.rules import watch_rules

log = logging.getLogger("monitor")

HOUSEKEEPING_INTERVAL = timedelta(hours=6)


class Daemon:
    """Runs until SIGTERM/SIGINT, then finishes in-flight work, flushes and closes the store."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._feeds: asyncio.Task[None] | None = None

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

    def scheduler_running(self) -> bool:
        """For /readyz: the cron scheduler runs and the feed loop is alive."""
        alive = self._feeds is not None and not self._feeds.done()
        return alive and self.scheduler.running and not self.stop.is_set()

    async def run(self) -> int:
        """Serve until a signal; :class:`StartupError` (before anything started) when the
        HTTP side cannot listen where ``http.listen`` says."""
        settings = self.app.settings
        http = None
        if settings.http.listen:
            http = HttpService(self.app, scheduler_running=self.scheduler_running)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        await self.app.scheduler.sync()
        self._schedule()
        self.scheduler.start()
        self._feeds = asyncio.create_task(self.app.scheduler.run(self.stop), name="feeds")
        tasks = [
            asyncio.create_task(self.app.notifier.run(self.stop), name="delivery"),
            self._feeds,
        ]
        if http is not None:
            tasks.append(asyncio.create_task(http.run(self.stop), name="http"))
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
                        loader=self.app.rule_loader,
                    ),
                    name="rules-watch",
                )
            )
        log.info(
            "monitor running: %d feeds%s; send SIGTERM or press Ctrl-C to stop",
            len(self.app.feeds), f"; http on {http.url}" if http else "",
        )  # fmt: skip
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
