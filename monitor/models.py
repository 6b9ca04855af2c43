"""The data that flows through the pipeline: articles, rules, hits, alerts.

Plain frozen dataclasses so the pure core (parsing, matching, rendering) can be
tested without a store or a network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
FIELDS: tuple[str, ...] = ("title", "summary", "content")


@dataclass(frozen=True, slots=True)
class Article:
    """One feed entry, normalised: plain text for matching, original HTML for display."""

    id: str
    feed: str
    title: str
    link: str | None
    published: datetime
    summary: str = ""
    content: str = ""
    author: str | None = None
    tags: tuple[str, ...] = ()
    summary_html: str = ""
    content_html: str = ""
    feed_tags: tuple[str, ...] = ()  # the tags of the feed it came from (rules' feeds: tag:x)

    def text(self, field_name: str) -> str:
        """The plain text of one matchable field (title, summary or content)."""
        if field_name not in FIELDS:
            raise KeyError(field_name)
        return str(getattr(self, field_name))

    @property
    def content_hash(self) -> str:
        """Changes when the matchable text changes, so an edited story is matched again."""
        h = hashlib.sha256()
        for name in FIELDS:
            h.update(self.text(name).encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Surge:
    """A rule's ``surge:``: one alert when ``sources`` distinct feeds carried matching
    articles published within ``within`` of each other, instead of one alert per article."""

    sources: int
    within: timedelta


@dataclass(frozen=True, slots=True)
class Rule:
    """What the rest of the system needs to know about a watch rule (not its compiled query)."""

    id: str
    title: str
    severity: Severity
    query: str
    fields: tuple[str, ...] = FIELDS
    notify: tuple[str, ...] = ()  # channel names; empty means the default channels
    schedule: str = "immediate"  # or the name of a digest
    cooldown: timedelta | None = None
    source: str = ""  # "path:line" where the rule is defined
    feeds: tuple[str, ...] = ()  # feed names and tag:NAME entries; empty means every feed
    surge: Surge | None = None  # alert on volume (see monitor.surges), not on each article


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a positive query term in an article field.

    ``start``/``end`` are character offsets into ``Article.text(field)``.
    ``term`` is the query term or set entry that hit (``"drone*"``, ``"Revolutionary Guard*"``);
    ``set_name`` names the actor/keyword set it came from, if any.
    """

    field: str
    start: int
    end: int
    text: str
    term: str
    set_name: str | None = None


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched an article, with every hit of its positive terms."""

    rule: Rule
    hits: tuple[Hit, ...] = field(default_factory=tuple)


def alert_id(rule_id: str, article_id: str) -> str:
    """Deterministic, so the same (rule, article) can never be alerted twice."""
    return hashlib.sha256(f"{rule_id}\x00{article_id}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule matched a new article: what the notifiers render and deliver."""

    id: str
    rule: Rule
    article: Article
    hits: tuple[Hit, ...]
    created_at: datetime
    other_feeds: tuple[str, ...] = ()  # other feeds that carried the article or its story
    surge: SurgeDetail | None = None  # a surge alert: ``article`` is the one that completed it


@dataclass(frozen=True, slots=True)
class SurgeDetail:
    """What a surge alert lists: the feeds and articles of the window in which it started.

    ``articles`` (oldest first) may be fewer than ``total``: a busy story is listed in part.
    """

    start: datetime  # the published time at which the count reached the threshold
    feeds: tuple[str, ...]
    articles: tuple[Article, ...]
    total: int
