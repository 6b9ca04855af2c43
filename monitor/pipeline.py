"""Article → rule matches → alerts → outbox, one transaction per article.

The pipeline is the only place where the stages meet; it publishes the typed
events so that logging and counters stay out of the stages.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from monitor.bus import EventBus
from monitor.events import AlertQueued, ArticleDiscovered, RuleMatched
from monitor.models import Alert, Article, RuleMatch, alert_id
from monitor.sources.identity import canonical_url
from monitor.store import Database
from monitor.store.alerts import insert_alert
from monitor.store.articles import Seen, matched_rules, record_match, upsert_article

log = logging.getLogger(__name__)


class Matcher(Protocol):
    """Anything that can match an article against the active rules (a compiled RuleSet)."""

    def match(self, article: Article) -> list[RuleMatch]: ...


Enqueue = Callable[[sqlite3.Connection, Alert, datetime], AlertQueued]


@dataclass(slots=True)
class IngestResult:
    """What one batch of a feed's articles produced."""

    new: int = 0
    changed: int = 0
    alerts: list[AlertQueued] = field(default_factory=list)


class Pipeline:
    """Stores articles, matches new or changed ones, queues alerts for newly matching rules."""

    def __init__(
        self,
        db: Database,
        matcher: Callable[[], Matcher],
        enqueue: Enqueue,
        bus: EventBus,
        *,
        retention: timedelta,
    ) -> None:
        self._db = db
        self._matcher = matcher  # called per batch: hot reload swaps the rule set between batches
        self._enqueue = enqueue
        self._bus = bus
        self._retention = retention

    def ingest(
        self,
        articles: Sequence[Article],
        *,
        now: datetime,
        first_poll: bool = False,
        backfill_after: datetime | None = None,
    ) -> IngestResult:
        """Store and match a feed's articles.

        Some articles are stored and matched but raise no alert: on a feed's first poll, those
        published before ``backfill_after`` (None: alert on all), so that a new feed does not flood
        the analysts; later, those older than the retention period (a pruned story coming back is
        not news).
        """
        matcher = self._matcher()
        result = IngestResult()
        alert_after = backfill_after if first_poll else now - self._retention
        events: list[object] = []
        # One transaction for the batch: a failure stores nothing, and the feed's validators are
        # not advanced either, so the next poll brings the same articles again.
        with self._db.transaction() as conn:
            for article in articles:
                quiet = alert_after is not None and article.published < alert_after
                self._ingest_one(conn, matcher, article, now, quiet, result, events)
        for event in events:  # after commit: observers see what the store holds
            self._bus.publish(event)
        return result

    def _ingest_one(
        self,
        conn: sqlite3.Connection,
        matcher: Matcher,
        article: Article,
        now: datetime,
        quiet: bool,
        result: IngestResult,
        events: list[object],
    ) -> None:
        link_key = canonical_url(article.link) if article.link else None
        seen, stored_id = upsert_article(conn, article, link_key=link_key, now=now)
        if seen is Seen.KNOWN:
            return
        if stored_id != article.id:  # the same story under another id (same link)
            article = replace(article, id=stored_id)
        if seen is Seen.NEW:
            result.new += 1
        else:
            result.changed += 1
        events.append(ArticleDiscovered(article, changed=seen is Seen.CHANGED))
        already = matched_rules(conn, stored_id)
        for match in matcher.match(article):
            record_match(
                conn,
                rule_id=match.rule.id,
                article_id=stored_id,
                content_hash=article.content_hash,
                hits=match.hits,
                now=now,
            )
            if match.rule.id in already:
                continue  # only a rule that newly matches raises an alert
            events.append(RuleMatched(article, match))
            if quiet:
                continue
            alert = Alert(
                id=alert_id(match.rule.id, stored_id),
                rule=match.rule,
                article=article,
                hits=match.hits,
                created_at=now,
            )
            if insert_alert(conn, alert):
                queued = self._enqueue(conn, alert, now)
                result.alerts.append(queued)
                events.append(queued)
