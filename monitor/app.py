"""Wires the parts together from settings; shared by ``monitor run`` and ``monitor poll --once``."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from monitor.bus import EventBus
from monitor.clock import utcnow
from monitor.config import FeedConfig, Settings
from monitor.events import AlertQueued, FeedPolled, RulesReloaded
from monitor.feed_scheduler import FeedScheduler
from monitor.instance import Instance
from monitor.logs import log_events
from monitor.models import Alert
from monitor.notifiers import Notifier
from monitor.notifiers.routing import enqueue_alert
from monitor.notifiers.story_updates import queue_story_updates
from monitor.pipeline import Pipeline
from monitor.poller import Poller
from monitor.rules import LoadResult, RuleLoader, RuleSet
from monitor.sources.fetch import Fetcher
from monitor.sources.opml import read_opml
from monitor.store import Store, UnitOfWork, open_store
from monitor.stories.folding import StoryFolder

log = logging.getLogger("monitor")


class StartupError(RuntimeError):
    """The monitor cannot start: the message says what to fix."""


def configured_feeds(settings: Settings) -> list[FeedConfig]:
    """The feeds of the config file plus those of the OPML file, enabled ones only."""
    feeds = list(settings.feeds)
    if settings.opml is not None:
        known = {f.name for f in feeds}
        for feed in read_opml(settings.opml):
            if feed.name not in known:
                feeds.append(feed)
                known.add(feed.name)
    return [f for f in feeds if f.enabled]


def rule_loader(settings: Settings) -> RuleLoader:
    """The loader of the configured rules (kept by the app, so reloads are incremental)."""
    return RuleLoader(
        settings.rules.paths,
        channels=list(settings.channels),
        digests=list(settings.digests),
        max_file_bytes=settings.rules.max_file_bytes,
    )


def load_ruleset(settings: Settings) -> LoadResult:
    return rule_loader(settings).load()


class App:
    """The running parts of one monitor instance: ``async with App.open(settings) as app``."""

    def __init__(self, settings: Settings, store: Store, ruleset: RuleSet, feeds: list[FeedConfig]):
        self.settings = settings
        self.store = store
        self.ruleset = ruleset
        # What loaded ``ruleset``, for the hot reload to re-read only the files that change.
        self.rule_loader: RuleLoader | None = None
        self.feeds = feeds
        self.bus = EventBus()
        log_events(self.bus)
        self.instance = Instance(
            store, settings.store, lease=timedelta(seconds=settings.delivery.lease_seconds)
        )
        self.notifier = Notifier(
            settings, store, self.bus, owner=self.instance.id, dead_after=self.instance.dead_after
        )
        self.fetcher = Fetcher(settings.fetch)
        self.pipeline = Pipeline(
            store,
            lambda: self.ruleset,
            self._enqueue,
            self.bus,
            retention=timedelta(days=settings.store.retention_days),
            stories=StoryFolder(settings.stories, on_new_source=self._story_grew)
            if settings.stories.enabled
            else None,
        )
        self.poller = Poller(
            store, self.fetcher, self.pipeline, self.bus, settings.fetch, owner=self.instance.id
        )
        self.scheduler = FeedScheduler(
            store, self.poller, feeds, self.instance, max_in_flight=settings.fetch.concurrency
        )

    @classmethod
    def open(cls, settings: Settings) -> App:
        loader = rule_loader(settings)
        result = loader.load()
        if result.ruleset is None:
            raise StartupError(
                "the rules have errors:\n  " + "\n  ".join(str(e) for e in result.errors)
            )
        for warning in result.warnings:
            log.warning("%s", warning)
        try:
            feeds = configured_feeds(settings)
        except (OSError, ValueError) as exc:
            raise StartupError(f"cannot read the feeds: {exc}") from exc
        store = open_store(settings.store_url, lock_timeout=settings.store.lock_timeout)
        try:
            app = cls(settings, store, result.ruleset, feeds)
            app.rule_loader = loader
        except Exception:
            store.close()
            raise
        log.info(
            "rule set %s active (%d rules); %d feeds; store %s",
            result.ruleset.version, len(result.ruleset.rules), len(feeds), store.display_url,
        )  # fmt: skip
        return app

    def _enqueue(self, uow: UnitOfWork, alert: Alert, now: datetime) -> AlertQueued:
        return enqueue_alert(uow, alert, self.settings, now)

    def _story_grew(self, uow: UnitOfWork, story_id: str, now: datetime) -> None:
        queue_story_updates(uow, story_id, channels=self.settings.channels,
                            minutes=self.settings.stories.update_minutes, now=now)  # fmt: skip

    def reload_rules(self, result: LoadResult) -> None:
        """Hot reload: a rule change with errors is refused and the last good set keeps running."""
        if result.ruleset is None:
            self.bus.publish(
                RulesReloaded(
                    self.ruleset.version,
                    len(self.ruleset.rules),
                    ok=False,
                    errors=tuple(str(e) for e in result.errors),
                )
            )
            return
        self.ruleset = result.ruleset
        self.bus.publish(RulesReloaded(result.ruleset.version, len(result.ruleset.rules), ok=True))

    async def poll_all(self, *, force: bool = False) -> list[FeedPolled]:
        """Poll every feed that is due (``force``: all that no other instance is polling)."""
        return await self.scheduler.poll_due(force=force)

    async def housekeeping(self, now: datetime | None = None) -> int:
        """Prune old articles in bounded transactions, so no writer waits behind it for long."""
        now = now or utcnow()
        before = now - timedelta(days=self.settings.store.retention_days)
        pruned = 0
        while True:
            n = await self.store.run(lambda uow: uow.articles.prune(before=before, limit=500))
            pruned += n
            if n < 500:
                break
        await self.store.run(lambda uow: uow.jobs.prune(before=now - timedelta(days=30)))
        await self.prune_stories(now)
        if pruned:
            log.info("housekeeping: pruned %d articles older than the retention period", pruned)
        return pruned

    async def prune_stories(self, now: datetime) -> int:
        """Forget the band keys of stories out of the window (no copy can join them any more)
        and stories left without articles; bounded transactions, like the articles'."""
        before = now - timedelta(hours=self.settings.stories.window_hours)
        pruned = 0
        while (n := await self.store.run(lambda uow: uow.stories.prune_bands(before=before))) > 0:
            pruned += n
        while await self.store.run(lambda uow: uow.stories.prune_orphans(before=before)) > 0:
            pass
        return pruned

    async def __aenter__(self) -> App:
        await self.fetcher.__aenter__()
        try:
            await self.instance.register()
        except BaseException:
            await self.fetcher.aclose()
            self.store.close()
            raise
        # The heartbeat runs for as long as the app is open — in the daemon and in a
        # `poll --once` alike — so a long cycle's claims are never taken over while alive.
        self._beat_stop = asyncio.Event()
        self._beat = asyncio.create_task(self.instance.run(self._beat_stop), name="heartbeat")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            self._beat_stop.set()
            await self._beat
            await self.instance.unregister()
            await self.notifier.aclose()
            await self.fetcher.aclose()
        finally:
            self.store.close()
