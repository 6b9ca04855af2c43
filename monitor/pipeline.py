"""Article → rule matches → alerts → outbox, in bounded transactions on the store's threads.

The pipeline is the only place where the stages meet; it publishes the typed events (on the
event loop, after commit) so that logging and counters stay out of the stages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple, Protocol

from monitor.bus import EventBus
from monitor.events import AlertQueued, ArticleDiscovered, RuleMatched
from monitor.models import Alert, Article, Rule, RuleMatch, alert_id
from monitor.notifiers.routing import lock_rules
from monitor.sources.identity import canonical_url
from monitor.store import Store, UnitOfWork
from monitor.store.articles import Seen
from monitor.stories.folding import Placed, StoryFolder
from monitor.surges import Source
from monitor.surging import NewMatches, raise_surges

log = logging.getLogger(__name__)

CHUNK_SIZE = 100  # articles per transaction: a 100,000-entry feed never holds the lock long


class Matcher(Protocol):
    """Anything that can match an article against the active rules (a compiled RuleSet)."""

    def match(self, article: Article) -> list[RuleMatch]: ...

    def get(self, rule_id: str) -> Rule | None: ...


Enqueue = Callable[[UnitOfWork, Alert, datetime], AlertQueued]


class Fresh(NamedTuple):
    """A new or changed article of the chunk, stored and matched, not yet alerted."""

    article: Article
    quiet: bool
    matches: list[RuleMatch]


@dataclass(slots=True)
class IngestResult:
    """What one batch of a feed's articles produced."""

    new: int = 0
    changed: int = 0
    quiet: int = 0  # new articles recorded without alerting (backfill, retention)
    alerts: list[AlertQueued] = field(default_factory=list)
    events: list[object] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.new += other.new
        self.changed += other.changed
        self.quiet += other.quiet
        self.alerts.extend(other.alerts)
        self.events.extend(other.events)


class Pipeline:
    """Stores articles, matches new or changed ones, queues alerts for newly matching rules."""

    def __init__(
        self,
        store: Store,
        matcher: Callable[[], Matcher],
        enqueue: Enqueue,
        bus: EventBus,
        *,
        retention: timedelta,
        chunk_size: int = CHUNK_SIZE,
        stories: StoryFolder | None = None,
    ) -> None:
        self._store = store
        self._matcher = matcher  # called per batch: hot reload swaps the rule set between batches
        self._enqueue = enqueue
        self._bus = bus
        self._retention = retention
        self._chunk = chunk_size
        self._stories = stories  # None: every copy of a story alerts on its own

    async def ingest(
        self,
        articles: Sequence[Article],
        *,
        now: datetime,
        first_poll: bool = False,
        backfill_after: datetime | None = None,
    ) -> IngestResult:
        """Store and match a feed's articles, a chunk per transaction, off the event loop.

        Some articles are stored and matched but raise no alert: on a feed's first poll, those
        published before ``backfill_after`` (None: alert on all), so that a new feed does not
        flood the analysts; later, those older than the retention period (a pruned story coming
        back is not news). A failing chunk stores nothing of itself; the caller does not advance
        the feed's validators, so the next poll brings the same articles and what was stored is
        recognised.
        """
        matcher = self._matcher()
        alert_after = backfill_after if first_poll else now - self._retention
        total = IngestResult()
        for start in range(0, len(articles), self._chunk):
            chunk = articles[start : start + self._chunk]
            result = await self._store.run(
                partial(self._ingest_chunk, matcher=matcher, chunk=chunk, now=now,
                        alert_after=alert_after)
            )  # fmt: skip
            for event in result.events:  # after commit: observers see what the store holds
                self._bus.publish(event)
            total.add(result)
        return total

    def _ingest_chunk(
        self,
        uow: UnitOfWork,
        matcher: Matcher,
        chunk: Sequence[Article],
        now: datetime,
        alert_after: datetime | None,
    ) -> IngestResult:
        result = IngestResult()  # built afresh: a retried unit of work starts from nothing
        raised: list[Alert] = []
        surging: dict[str, NewMatches] = {}
        fresh: list[Fresh] = []
        for article in chunk:
            quiet = alert_after is not None and article.published < alert_after
            item = self._ingest_one(uow, matcher, article, now, quiet, result, surging)
            if item is not None:
                fresh.append(item)
        # Stories are placed after storing and matching, so their locks cover only writes.
        stories = (
            self._stories.place(uow, [f.article for f in fresh], now,
                                quiet={f.article.id for f in fresh if f.quiet})
            if self._stories
            else {}
        )  # fmt: skip
        for item in fresh:
            self._alert_one(uow, item, now, result, raised, surging, stories.get(item.article.id))
        # Routing decides storms and cooldowns, and surges start, under per-rule locks: all
        # of this chunk's, taken in one order (after the story locks), so concurrent chunks
        # (threads or instances) cannot deadlock.
        lock_rules(uow, [*(a.rule.id for a in raised), *surging])
        raised.extend(raise_surges(uow, surging, now=now, alert_after=alert_after))
        for alert in raised:
            queued = self._enqueue(uow, alert, now)
            result.alerts.append(queued)
            result.events.append(queued)
        return result

    def _ingest_one(
        self,
        uow: UnitOfWork,
        matcher: Matcher,
        article: Article,
        now: datetime,
        quiet: bool,
        result: IngestResult,
        surging: dict[str, NewMatches],
    ) -> Fresh | None:
        """Store the article; if it is new or changed, match it (None: nothing to do)."""
        link_key = canonical_url(article.link) if article.link else None
        seen, stored_id, new_source = uow.articles.upsert(article, link_key=link_key, now=now)
        if stored_id != article.id:  # the same story under another id (same link)
            article = replace(article, id=stored_id)
        if seen is Seen.KNOWN:
            if new_source:
                self._count_new_source(uow, matcher, article, surging)
                if self._stories is not None and not quiet:
                    self._stories.carried(uow, stored_id, now)
            return None
        if seen is Seen.NEW:
            result.new += 1
            result.quiet += quiet
        else:
            result.changed += 1
        result.events.append(ArticleDiscovered(article, changed=seen is Seen.CHANGED))
        return Fresh(article, quiet, matcher.match(article))

    def _count_new_source(
        self, uow: UnitOfWork, matcher: Matcher, article: Article, surging: dict[str, NewMatches]
    ) -> None:
        """A feed newly carries a stored article (the same guid or canonical link): it is one
        more feed for the surge rules that matched the article — those that match this feed's
        copy (a rule limited to some feeds may not) — counted with the chunk's new matches."""
        matched = uow.articles.matched_rules(article.id)
        if not any((r := matcher.get(i)) is not None and r.surge is not None for i in matched):
            return  # no surge rule matched it: no need to match this copy
        for m in matcher.match(article):
            if m.rule.surge is not None and m.rule.id in matched:
                pending = surging.setdefault(m.rule.id, NewMatches(m.rule))
                pending.members.add(Source(article.id, article.feed))

    def _alert_one(
        self,
        uow: UnitOfWork,
        item: Fresh,
        now: datetime,
        result: IngestResult,
        raised: list[Alert],
        surging: dict[str, NewMatches],
        story: Placed | None,
    ) -> None:
        """Record the matches; alert for each rule neither the article nor its story had."""
        article = item.article
        already = uow.articles.matched_rules(article.id)
        told = (
            uow.stories.alerted_rules(story.story_id)
            if story is not None and not story.started
            else set()
        )
        for match in item.matches:
            uow.articles.record_match(
                rule_id=match.rule.id,
                article_id=article.id,
                content_hash=article.content_hash,
                hits=match.hits,
                now=now,
            )
            if match.rule.id in already:
                continue  # only a rule that newly matches raises an alert
            result.events.append(RuleMatched(article, match))
            if match.rule.surge is not None:
                # No alert per article: the chunk's new matches are counted under the lock
                # (every copy of a story counts: each feed that carried it is a source).
                pending = surging.setdefault(match.rule.id, NewMatches(match.rule))
                pending.members.add(Source(article.id, article.feed))
                continue
            if item.quiet or match.rule.id in told:
                continue  # one alert per story: an earlier copy raised this rule's
            alert = Alert(
                id=alert_id(match.rule.id, article.id),
                rule=match.rule,
                article=article,
                hits=match.hits,
                created_at=now,
            )
            if uow.alerts.insert(alert):
                raised.append(alert)
