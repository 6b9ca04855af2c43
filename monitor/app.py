"""Wires the parts together from settings; shared by ``monitor run`` and ``monitor poll --once``."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime, timedelta

from monitor.bus import EventBus
from monitor.config import FeedConfig, Settings
from monitor.events import AlertQueued, FeedPolled, RulesReloaded
from monitor.logs import log_events
from monitor.models import Alert
from monitor.notifiers import Notifier
from monitor.notifiers.routing import enqueue_alert
from monitor.pipeline import Pipeline
from monitor.poller import Poller
from monitor.rules import LoadResult, RuleSet, load_rules
from monitor.sources.fetch import Fetcher
from monitor.sources.opml import read_opml
from monitor.store import Database, open_database
from monitor.store.articles import prune_articles
from monitor.store.db import utcnow

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


def load_ruleset(settings: Settings) -> LoadResult:
    return load_rules(
        settings.rules.paths, channels=list(settings.channels), digests=list(settings.digests)
    )


class App:
    """The running parts of one monitor instance: ``async with App.open(settings) as app``."""

    def __init__(self, settings: Settings, db: Database, ruleset: RuleSet, feeds: list[FeedConfig]):
        self.settings = settings
        self.db = db
        self.ruleset = ruleset
        self.feeds = feeds
        self.bus = EventBus()
        log_events(self.bus)
        self.notifier = Notifier(settings, db, self.bus)
        self.fetcher = Fetcher(settings.fetch)
        self.pipeline = Pipeline(
            db,
            lambda: self.ruleset,
            self._enqueue,
            self.bus,
            retention=timedelta(days=settings.store.retention_days),
        )
        self.poller = Poller(db, self.fetcher, self.pipeline, self.bus, settings.fetch)

    @classmethod
    def open(cls, settings: Settings) -> App:
        result = load_ruleset(settings)
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
        db = open_database(settings.store_url)
        try:
            app = cls(settings, db, result.ruleset, feeds)
        except Exception:
            db.close()
            raise
        log.info(
            "rule set %s active (%d rules); %d feeds; store %s",
            result.ruleset.version, len(result.ruleset.rules), len(feeds), settings.store_url,
        )  # fmt: skip
        return app

    def _enqueue(self, conn: sqlite3.Connection, alert: Alert, now: datetime) -> AlertQueued:
        return enqueue_alert(conn, alert, self.settings, now)

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

    async def poll_all(self) -> list[FeedPolled]:
        return list(await asyncio.gather(*(self.poller.poll(f) for f in self.feeds)))

    def housekeeping(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        with self.db.transaction() as conn:
            pruned = prune_articles(
                conn, before=now - timedelta(days=self.settings.store.retention_days)
            )
        if pruned:
            log.info("housekeeping: pruned %d articles older than the retention period", pruned)
        return pruned

    async def __aenter__(self) -> App:
        await self.fetcher.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.notifier.aclose()
            await self.fetcher.aclose()
        finally:
            self.db.close()
