"""Prometheus metrics, fed by the event bus (no stage knows about them).

Counters and histograms follow the events as they are published; the gauges that describe
the store (outbox backlog, failing feeds) are read from it when a scrape comes. A registry of
its own, so two apps in one process (the tests) never share or clash over series.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from monitor.bus import EventBus
from monitor.clock import utcnow
from monitor.events import AlertDelivered, AlertFailed, AlertQueued, ArticleDiscovered, FeedPolled
from monitor.store import Store, UnitOfWork
from monitor.store.outbox import STATUSES

CONTENT_TYPE = CONTENT_TYPE_LATEST
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DELIVERY_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600)


@dataclass(frozen=True, slots=True)
class StoreGauges:
    outbox: dict[str, int]
    feeds_failing: int


def read_store_gauges(uow: UnitOfWork, feeds: Collection[str]) -> StoreGauges:
    failing = sum(1 for s in uow.feeds.all() if s.name in feeds and s.failures > 0)
    return StoreGauges(outbox=uow.outbox.counts(), feeds_failing=failing)


class Metrics:
    def __init__(self, bus: EventBus, store: Store, feeds: Collection[str]) -> None:
        self._store = store
        self._feeds = frozenset(feeds)
        r = self.registry = CollectorRegistry()
        self.polls = Counter(
            "monitor_polls", "Feed polls by outcome (ok, not_modified, failed).", ["result"],
            registry=r,
        )  # fmt: skip
        for result in ("ok", "not_modified", "failed"):
            self.polls.labels(result)
        self.poll_seconds = Histogram(
            "monitor_poll_duration_seconds", "How long one poll of one feed took.",
            buckets=POLL_BUCKETS, registry=r,
        )  # fmt: skip
        self.articles_new = Counter(
            "monitor_articles_new", "Articles the store had not seen.", registry=r
        )
        self.articles_changed = Counter(
            "monitor_articles_changed", "Known articles that came back with new text.", registry=r
        )
        self.alerts = Counter("monitor_alerts", "Alerts raised, by rule.", ["rule"], registry=r)
        self.deliveries = Counter(
            "monitor_deliveries",
            "Delivery attempts by channel and result: sent; failed (a retry follows); "
            "dead (no retry follows).",
            ["channel", "result"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "monitor_alert_delivery_seconds",
            "From an alert being raised (its delivery queued) to its delivery to a channel.",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "monitor_outbox_pending", "Outbox rows waiting to be sent (read at scrape).", registry=r
        )
        self.outbox_rows = Gauge(
            "monitor_outbox_rows", "Outbox rows by status (read at scrape).", ["status"], registry=r
        )
        self.feeds_failing = Gauge(
            "monitor_feeds_failing",
            "Configured feeds whose last poll failed (failures > 0; read at scrape).",
            registry=r,
        )
        bus.subscribe(FeedPolled, self._polled)
        bus.subscribe(ArticleDiscovered, self._discovered)
        bus.subscribe(AlertQueued, self._queued)
        bus.subscribe(AlertDelivered, self._delivered)
        bus.subscribe(AlertFailed, self._failed)

    def _polled(self, e: FeedPolled) -> None:
        result = "failed" if e.failed else "not_modified" if e.not_modified else "ok"
        self.polls.labels(result).inc()
        self.poll_seconds.observe(max(0.0, e.duration))

    def _discovered(self, e: ArticleDiscovered) -> None:
        (self.articles_changed if e.changed else self.articles_new).inc()

    def _queued(self, e: AlertQueued) -> None:
        self.alerts.labels(e.rule_id).inc()

    def _delivered(self, e: AlertDelivered) -> None:
        self.deliveries.labels(e.channel, "sent").inc()
        if e.alert_id is not None and e.created_at is not None:
            self.delivery_seconds.observe(max(0.0, (utcnow() - e.created_at).total_seconds()))

    def _failed(self, e: AlertFailed) -> None:
        self.deliveries.labels(e.channel, "dead" if e.final else "failed").inc()

    async def exposition(self) -> bytes:
        """The text format, with the store's gauges read now (on a store thread)."""
        feeds = self._feeds
        gauges = await self._store.run(lambda uow: read_store_gauges(uow, feeds), write=False)
        self.outbox_pending.set(gauges.outbox.get("pending", 0))
        for status in STATUSES:
            self.outbox_rows.labels(status).set(gauges.outbox.get(status, 0))
        self.feeds_failing.set(gauges.feeds_failing)
        return generate_latest(self.registry)
