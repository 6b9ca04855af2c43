"""One poll of one feed: fetch → parse → pipeline, and the feed's health in the store."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta

from monitor.bus import EventBus
from monitor.config import FeedConfig, FetchConfig
from monitor.events import FeedPolled
from monitor.pipeline import Pipeline
from monitor.sources.fetch import Fetcher, FetchResult
from monitor.sources.parse import parse_feed
from monitor.sources.polling import backoff_delay, next_interval
from monitor.store import Database
from monitor.store.articles import recent_publish_times
from monitor.store.db import utcnow
from monitor.store.feeds import FeedState, ensure_feed, get_feed, record_poll

log = logging.getLogger("monitor.poll")


class Poller:
    """Polls feeds; a feed's failure is recorded on that feed and never raised to the scheduler."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        pipeline: Pipeline,
        bus: EventBus,
        config: FetchConfig,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._fetcher = fetcher
        self._pipeline = pipeline
        self._bus = bus
        self._config = config
        self._rng = rng or random.Random()

    def state(self, feed: FeedConfig) -> FeedState:
        with self._db.transaction() as conn:
            return ensure_feed(conn, feed.name, feed.url)

    async def poll(self, feed: FeedConfig) -> FeedPolled:
        started = time.monotonic()
        state = self.state(feed)
        try:
            result = await self._fetcher.fetch(
                state.url, etag=state.etag, last_modified=state.last_modified
            )
            event = await self._handle(feed, state, result, started)
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("poll of feed %s failed unexpectedly", feed.name)
            event = self._failed(feed, state, None, f"internal error: {exc!r}", None, started)
        self._bus.publish(event)
        return event

    async def _handle(
        self, feed: FeedConfig, state: FeedState, result: FetchResult, started: float
    ) -> FeedPolled:
        now = utcnow()
        if result.error is not None:
            return self._failed(
                feed, state, result.status, result.error, result.retry_after, started
            )
        if result.not_modified or result.body is None:
            self._succeeded(feed, result, now, ttl=None, error=None, new_articles=0)
            return self._done(feed, state.url, result.status, 0, started, None, not_modified=True)
        # Parsing is pure and the slowest step: off the loop, so other feeds' I/O goes on.
        parsed = await asyncio.to_thread(
            parse_feed,
            result.body,
            feed_name=feed.name,
            url=result.final_url,
            headers=result.headers,
            fetched_at=now,
        )
        if parsed.error is not None and not parsed.articles and parsed.version is None:
            return self._failed(feed, state, result.status, parsed.error, None, started)
        ingest = self._pipeline.ingest(
            parsed.articles,
            now=now,
            first_poll=state.first_polled_at is None,
            backfill_after=self._backfill_after(feed, now),
        )
        self._succeeded(
            feed, result, now, ttl=parsed.ttl_minutes, error=parsed.error, new_articles=ingest.new
        )
        return self._done(feed, state.url, result.status, ingest.new, started, parsed.error)

    def _succeeded(
        self,
        feed: FeedConfig,
        result: FetchResult,
        now: datetime,
        *,
        ttl: int | None,
        error: str | None,
        new_articles: int,
    ) -> None:
        interval = self._interval(feed, now, ttl=ttl, max_age=result.max_age)
        with self._db.transaction() as conn:
            record_poll(
                conn,
                feed.name,
                now=now,
                status=result.status,
                ok=True,
                error=error,
                next_poll_at=now + timedelta(seconds=interval),
                interval_seconds=interval,
                etag=result.etag,
                last_modified=result.last_modified,
                keep_validators=result.not_modified,  # a 304 may omit the validators
                new_url=result.permanent_redirect,
                new_articles=new_articles,
            )

    def _backfill_after(self, feed: FeedConfig, now: datetime) -> datetime | None:
        hours = (
            feed.backfill_hours if feed.backfill_hours is not None else self._config.backfill_hours
        )
        if hours < 0:
            return None
        return now - timedelta(hours=hours)

    def _interval(
        self, feed: FeedConfig, now: datetime, *, ttl: int | None, max_age: float | None
    ) -> int:
        with self._db.transaction() as conn:
            recent = recent_publish_times(conn, feed.name, since=now - timedelta(days=7))
        return next_interval(
            base=feed.interval,
            recent_entry_times=recent,
            now=now,
            min_interval=min(self._config.min_interval, feed.interval),
            max_interval=max(self._config.max_interval, feed.interval),
            ttl_minutes=ttl,
            max_age=max_age,
        )

    def _failed(
        self,
        feed: FeedConfig,
        state: FeedState,
        status: int | None,
        error: str,
        retry_after: float | None,
        started: float,
    ) -> FeedPolled:
        now = utcnow()
        delay = backoff_delay(
            state.failures + 1,
            base=feed.interval,
            maximum=self._config.backoff_max,
            retry_after=retry_after,
            rng=self._rng,
        )
        with self._db.transaction() as conn:
            record_poll(
                conn,
                feed.name,
                now=now,
                status=status,
                ok=False,
                error=error,
                next_poll_at=now + timedelta(seconds=delay),
            )
        failing_since = state.last_success_at or state.first_polled_at
        if (
            failing_since
            and (now - failing_since).total_seconds() > self._config.failing_report_after
        ):
            log.error(
                "feed %s has been failing since %s (%d failures): %s",
                feed.name,
                failing_since.isoformat(timespec="minutes"),
                state.failures + 1,
                error,
            )
        return self._done(feed, state.url, status, 0, started, error, failed=True)

    def _done(
        self,
        feed: FeedConfig,
        url: str,
        status: int | None,
        new: int,
        started: float,
        error: str | None,
        *,
        not_modified: bool = False,
        failed: bool = False,
    ) -> FeedPolled:
        return FeedPolled(
            feed=feed.name,
            url=url,
            status=status,
            new_articles=new,
            duration=time.monotonic() - started,
            error=error,
            not_modified=not_modified,
            failed=failed,
        )

    def next_poll_at(self, feed: FeedConfig) -> datetime | None:
        state = get_feed(self._db.conn, feed.name)  # a read: no write transaction needed
        return state.next_poll_at if state else None
