"""Typed events passed between the pipeline's stages.

Stages publish these on an :class:`monitor.bus.EventBus`; observers (logging,
counters, tests) subscribe without touching the stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.models import Article, RuleMatch


@dataclass(frozen=True, slots=True)
class FeedPolled:
    """One poll of one feed finished, successfully or not."""

    feed: str
    url: str
    status: int | None  # HTTP status; None for local files or when no response came
    new_articles: int
    duration: float  # seconds
    error: str | None = None  # may come with success: an ill-formed feed that still yielded entries
    not_modified: bool = False
    failed: bool = False  # nothing usable was fetched; the feed backs off


@dataclass(frozen=True, slots=True)
class ArticleDiscovered:
    """An article the store had not seen (or whose text changed) is ready for matching."""

    article: Article
    changed: bool = False  # True when a known article came back with different text


@dataclass(frozen=True, slots=True)
class RuleMatched:
    """A rule matched an article."""

    article: Article
    match: RuleMatch


@dataclass(frozen=True, slots=True)
class AlertQueued:
    """An alert was stored and its deliveries written to the outbox (or a digest queue)."""

    alert_id: str
    rule_id: str
    article_id: str
    title: str
    channels: tuple[str, ...]
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class AlertDelivered:
    """An outbox row was sent to its channel."""

    outbox_id: str
    channel: str
    alert_id: str | None
    digest_id: str | None = None
    attempt: int = 1
    created_at: datetime | None = None  # when the delivery was queued (alert raised)


@dataclass(frozen=True, slots=True)
class AlertFailed:
    """A delivery attempt failed; ``final`` when no retry will follow (the row is dead)."""

    outbox_id: str
    channel: str
    reason: str
    final: bool
    attempts: int
    max_attempts: int = 0
    retry_in: float | None = None  # seconds until the next attempt (None when final)
    what: str = ""  # "alert ID" or "digest ID"


@dataclass(frozen=True, slots=True)
class RulesReloaded:
    """A new rule set became active (``ok``) or a change was refused because of errors."""

    version: str
    rules: int
    ok: bool
    errors: tuple[str, ...] = ()


Event = (
    FeedPolled
    | ArticleDiscovered
    | RuleMatched
    | AlertQueued
    | AlertDelivered
    | AlertFailed
    | RulesReloaded
)
