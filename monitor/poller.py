"""One poll of one feed: fetch → parse → pipeline, and the feed's health in the store."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.backfill import backfill_notice
from monitor.bus import EventBus
from monitor.clock import utcnow
from monitor.events import FeedPolled
from monitor.pipeline import Pipeline
from monitor.sources.config import FeedConfig, FetchConfig
from monitor.sources.fetch import Fetcher, FetchResult
from monitor.sources.parse import parse_feed
from monitor.sources.polling import backoff_delay, next_interval
from monitor.store import Store, StoreError
from monitor.store.feeds import FeedState, PollRecord

log = logging.getLogger("monitor.poll")


class Poller:
    """Polls feeds; a feed's failure is recorded on that feed and never raised to the scheduler."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        pipeline: Pipeline,
        bus: EventBus,
        config: FetchConfig,
        *,
        rng: random.Random | None = None,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._owner = owner  # the instance whose feed leases this poller releases
        self._fetcher = fetcher
        self._pipeline = pipeline
        self._bus = bus
        self._config = config
        self._rng = rng or random.Random()

    async def state(self, feed: FeedConfig) -> FeedState:
        return await self._store.run(lambda uow: uow.feeds.ensure(feed.name, feed.url))

    async def poll(self, feed: FeedConfig, state: FeedState | None = None) -> FeedPolled:
        """Poll one feed (``state``: as claimed; else read now) and record the outcome."""
        started = time.monotonic()
        try:
            if state is None:
                state = await self.state(feed)
            result = await self._fetcher.fetch(
                state.url, etag=state.etag, last_modified=state.last_modified
            )
            event = await self._handle(feed, state, result, started)
        except StoreError as exc:  # busy or unreachable: said plainly, the feed is polled again
            log.error("poll of feed %s not recorded: %s", feed.name, exc)
            event = self._done(feed, feed.url, None, 0, started, f"store: {exc}", failed=True)
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("poll of feed %s failed unexpectedly", feed.name)
            try:
                assert state is not None
                event = await self._failed(
                    feed, state, None, f"internal error: {exc!r}", None, started
                )
            except Exception:
                event = self._done(feed, feed.url, None, 0, started, repr(exc), failed=True)
        self._bus.publish(event)
        return event

    async def _handle(
        self, feed: FeedConfig, state: FeedState, result: FetchResult, started: float
    ) -> FeedPolled:
        now = utcnow()
        if result.error is not None:
            return await self._failed(
                feed, state, result.status, result.error, result.retry_after, started
            )
        if result.not_modified or result.body is None:
            await self._succeeded(feed, result, now, ttl=None, error=None, new_articles=0)
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
            return await self._failed(feed, state, result.status, parsed.error, None, started)
        articles = parsed.articles
        if feed.tags:  # rules may restrict themselves to feeds by tag (feeds: [tag:wire])
            tags = tuple(feed.tags)
            articles = [replace(a, feed_tags=tags) for a in articles]
        first_poll = state.first_polled_at is None
        ingest = await self._pipeline.ingest(
            articles,
            now=now,
            first_poll=first_poll,
            backfill_after=self._backfill_after(feed, now),
        )
        if ingest.quiet and first_poll:
            log.info("%s", backfill_notice(feed.name, ingest.quiet, self._backfill_hours(feed)))
        elif ingest.quiet:
            log.info(
                "feed %s: %d entries older than the retention period recorded without alerting "
                "(store.retention_days)", feed.name, ingest.quiet,
            )  # fmt: skip
        await self._succeeded(
            feed, result, now, ttl=parsed.ttl_minutes, error=parsed.error, new_articles=ingest.new
        )
        return self._done(feed, state.url, result.status, ingest.new, started, parsed.error)

    async def _succeeded(
        self,
        feed: FeedConfig,
        result: FetchResult,
        now: datetime,
        *,
        ttl: int | None,
        error: str | None,
        new_articles: int,
    ) -> None:
        interval = await self._interval(feed, now, ttl=ttl, max_age=result.max_age)
        record = PollRecord(
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
        await self._record(feed, record)

    async def _record(self, feed: FeedConfig, record: PollRecord) -> None:
        owner = self._owner
        await self._store.run(lambda uow: uow.feeds.record_poll(feed.name, record, owner=owner))

    def _backfill_hours(self, feed: FeedConfig) -> float:
        return (
            feed.backfill_hours if feed.backfill_hours is not None else self._config.backfill_hours
        )

    def _backfill_after(self, feed: FeedConfig, now: datetime) -> datetime | None:
        hours = self._backfill_hours(feed)
        if hours < 0:
            return None
        return now - timedelta(hours=hours)

    async def _interval(
        self, feed: FeedConfig, now: datetime, *, ttl: int | None, max_age: float | None
    ) -> int:
        since = now - timedelta(days=7)
        recent = await self._store.run(
            lambda uow: uow.articles.recent_publish_times(feed.name, since=since), write=False
        )
        return next_interval(
            base=feed.interval,
            recent_entry_times=recent,
            now=now,
            min_interval=min(self._config.min_interval, feed.interval),
            max_interval=max(self._config.max_interval, feed.interval),
            ttl_minutes=ttl,
            max_age=max_age,
        )

    async def _failed(
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
        record = PollRecord(
            now=now, status=status, ok=False, error=error,
            next_poll_at=now + timedelta(seconds=delay),
        )  # fmt: skip
        await self._record(feed, record)
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

    async def next_poll_at(self, feed: FeedConfig) -> datetime | None:
        state = await self._store.run(lambda uow: uow.feeds.get(feed.name), write=False)
        return state.next_poll_at if state else None
