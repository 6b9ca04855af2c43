"""What the templates see: alerts and digests flattened into display-ready values (pure).

Everything shown to a reader is prepared here once — local times, safe links, the excerpt,
the grouping of a digest — so the templates only lay it out, and every channel shows the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.models import SEVERITIES, Alert, Article, Hit, Rule, SurgeDetail
from monitor.notifiers.limits import (
    AUTHOR_MAX,
    FEED_MAX,
    HITS_MAX,
    MATCHED_MAX,
    MATCHED_TEXT_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    clip,
)
from monitor.notifiers.sanitize import safe_href
from monitor.notifiers.snippet import Segment, excerpt, title_segments
from monitor.surges import duration_text

SCHEMA_VERSION = 1


def format_local(value: datetime, tz: ZoneInfo) -> str:
    """``2023-10-23 14:05 EDT`` in the configured display timezone."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True, slots=True)
class RuleView:
    id: str
    title: str
    severity: str
    source: str


@dataclass(frozen=True, slots=True)
class ArticleView:
    id: str
    title: str
    title_segments: tuple[Segment, ...]
    href: str | None  # only an absolute http(s) link; anything else is not shown
    feed: str
    feed_tags: tuple[str, ...]
    published: datetime
    published_local: str
    author: str | None


@dataclass(frozen=True, slots=True)
class MatchedSet:
    """The distinct texts that hit, per actor/keyword set (``name`` None: bare query terms)."""

    name: str | None
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoryUpdateView:
    """More outlets now carry the story an alert was sent about (a short follow-up)."""

    alert_id: str  # the alert this follows up
    sources: tuple[str, ...]  # the feeds that carried the story, the alert's own first
    new_sources: tuple[str, ...]  # those that came after the alert was sent
    count: int  # how many feeds carry it (sources and new_sources are bounded)


@dataclass(frozen=True, slots=True)
class AlertView:
    id: str
    rule: RuleView
    article: ArticleView
    matched: tuple[MatchedSet, ...]
    snippet: tuple[Segment, ...]
    other_feeds: tuple[str, ...]
    created_at: datetime
    created_local: str
    hits: tuple[Hit, ...]
    surge: SurgeView | None = None  # a surge alert: what it lists
    update: StoryUpdateView | None = None  # set: a story update, not the alert itself

    @property
    def keywords(self) -> tuple[str, ...]:
        """Every distinct matched text, sets first."""
        seen: dict[str, None] = {}
        for group in self.matched:
            for text in group.texts:
                seen.setdefault(text, None)
        return tuple(seen)


SURGE_SHOWN = 10  # articles a surge alert shows; the rest are counted ("and N more")


@dataclass(frozen=True, slots=True)
class SurgeArticle:
    title: str
    href: str | None
    feed: str
    published: datetime
    published_local: str


@dataclass(frozen=True, slots=True)
class SurgeView:
    """A surge: ``feeds`` (every one) carried ``total`` matching articles within ``within``."""

    headline: str  # "surge: 3 feeds within 2h"
    sources: int  # the rule's threshold
    within: str  # the rule's window, as written (2h)
    start: datetime
    start_local: str
    feeds: tuple[str, ...]
    articles: tuple[SurgeArticle, ...]  # oldest first, at most SURGE_SHOWN
    total: int
    more: int  # articles not shown


def surge_view(detail: SurgeDetail, rule: Rule, tz: ZoneInfo) -> SurgeView:
    within = duration_text(rule.surge.within) if rule.surge else "?"
    shown = detail.articles[:SURGE_SHOWN]
    feeds = tuple(clip(f, FEED_MAX) for f in detail.feeds[:50])
    return SurgeView(
        headline=f"surge: {len(detail.feeds)} feeds within {within}",
        sources=rule.surge.sources if rule.surge else len(detail.feeds),
        within=within,
        start=detail.start,
        start_local=format_local(detail.start, tz),
        feeds=feeds,
        articles=tuple(_surge_article(a, tz) for a in shown),
        total=detail.total,
        more=max(0, detail.total - len(shown)),
    )


def _surge_article(a: Article, tz: ZoneInfo) -> SurgeArticle:
    return SurgeArticle(
        title=_one_line(a.title, TITLE_MAX),
        href=safe_href(a.link),
        feed=clip(a.feed, FEED_MAX),
        published=a.published,
        published_local=format_local(a.published, tz),
    )


def rule_view(rule: Rule) -> RuleView:
    return RuleView(
        id=rule.id, title=clip(rule.title, TITLE_MAX), severity=rule.severity, source=rule.source
    )


def _one_line(text: str, limit: int) -> str:
    """Blanks squashed, at most ``limit`` characters (never splitting a huge text first)."""
    return clip(" ".join(text[: limit * 4].split()), limit)


def _matched(hits: Iterable[Hit]) -> tuple[MatchedSet, ...]:
    groups: dict[str | None, dict[str, str]] = {}
    for h in hits:
        texts = groups.setdefault(h.set_name, {})
        if len(texts) >= MATCHED_MAX:
            continue
        shown = _one_line(h.text, MATCHED_TEXT_MAX)
        texts.setdefault(shown.casefold(), shown)
    named = sorted(k for k in groups if k is not None)
    order: list[str | None] = [*named, None] if None in groups else list(named)
    return tuple(
        MatchedSet(name=k, texts=tuple(sorted(groups[k].values(), key=str.casefold))) for k in order
    )


def alert_view(alert: Alert, tz: ZoneInfo) -> AlertView:
    a = alert.article
    return AlertView(
        id=alert.id,
        rule=rule_view(alert.rule),
        article=ArticleView(
            id=a.id,
            title=_one_line(a.title, TITLE_MAX),
            title_segments=title_segments(a, alert.hits),
            href=safe_href(a.link),
            feed=clip(a.feed, FEED_MAX),
            feed_tags=tuple(clip(t, FEED_MAX) for t in a.feed_tags[:10]),
            published=a.published,
            published_local=format_local(a.published, tz),
            author=_one_line(a.author, AUTHOR_MAX) if a.author else a.author,
        ),
        matched=_matched(alert.hits),
        snippet=excerpt(a, alert.hits),
        other_feeds=tuple(clip(f, FEED_MAX) for f in alert.other_feeds[:20]),
        created_at=alert.created_at,
        created_local=format_local(alert.created_at, tz),
        hits=alert.hits,
        surge=surge_view(alert.surge, alert.rule, tz) if alert.surge else None,
    )


def story_update_view(
    alert: AlertView, *, update_id: str, sources: Sequence[str], new_sources: Sequence[str]
) -> AlertView:
    """The alert as a story update: its own id (a Message-ID, webhook-id of its own)."""
    return replace(
        alert,
        id=update_id,
        update=StoryUpdateView(
            alert_id=alert.id,
            sources=tuple(clip(f, FEED_MAX) for f in sources[:50]),
            new_sources=tuple(clip(f, FEED_MAX) for f in new_sources[:50]),
            count=len(sources),
        ),
    )


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One article, once, with every rule of the digest that matched it."""

    alert: AlertView
    rules: tuple[RuleView, ...]


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule: RuleView
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class SeverityGroup:
    severity: str
    rules: tuple[RuleGroup, ...]


@dataclass(frozen=True, slots=True)
class DigestView:
    id: str
    name: str
    title: str
    kind: str  # "digest" (scheduled) or "summary" (alerts folded by storm protection/cooldown)
    created_at: datetime
    created_local: str
    groups: tuple[SeverityGroup, ...]
    total: int  # distinct articles
    omitted: int  # entries beyond max_items ("and N more")
    alerts: int  # alerts folded in (several rules on one article count once each)
    reasons: tuple[str, ...] = ()


_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def digest_view(
    *,
    id: str,
    name: str,
    title: str,
    kind: str,
    alerts: Sequence[Alert],
    created_at: datetime,
    tz: ZoneInfo,
    max_items: int,
    reasons: Sequence[str] = (),
) -> DigestView:
    """Group by severity (highest first) then rule, newest first; each article once.

    An article several rules matched sits under its most severe rule and lists all of them.
    """
    by_article: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_article.setdefault(alert.article.id, []).append(alert)
    entries: list[tuple[Alert, tuple[Rule, ...]]] = []
    for group in by_article.values():
        group.sort(key=lambda a: (-_RANK[a.rule.severity], a.rule.title.casefold(), a.rule.id))
        entries.append((group[0], tuple(a.rule for a in group)))
    entries.sort(
        key=lambda e: (
            -_RANK[e[0].rule.severity],
            e[0].rule.title.casefold(),
            e[0].rule.id,
            -e[0].article.published.timestamp(),
            -e[0].created_at.timestamp(),
            e[0].id,
        )
    )
    shown, omitted = entries[:max_items], max(0, len(entries) - max_items)
    severities: dict[str, dict[str, list[DigestEntry]]] = {}
    rule_views: dict[str, RuleView] = {}
    for lead, rules in shown:
        rule_views[lead.rule.id] = rule_view(lead.rule)
        severities.setdefault(lead.rule.severity, {}).setdefault(lead.rule.id, []).append(
            DigestEntry(alert=alert_view(lead, tz), rules=tuple(rule_view(r) for r in rules))
        )
    groups = tuple(
        SeverityGroup(
            severity=sev,
            rules=tuple(
                RuleGroup(rule=rule_views[rid], entries=tuple(items))
                for rid, items in by_rule.items()
            ),
        )
        for sev, by_rule in severities.items()
    )
    return DigestView(
        id=id,
        name=name,
        title=clip(title, TITLE_MAX),
        kind=kind,
        created_at=created_at,
        created_local=format_local(created_at, tz),
        groups=groups,
        total=len(entries),
        omitted=omitted,
        alerts=len(alerts),
        reasons=tuple(clip(r, SUMMARY_MAX) for r in reasons),
    )


def _segments_text(segments: Iterable[Segment]) -> str:
    return "".join(s.text for s in segments)


def alert_payload(view: AlertView) -> dict[str, Any]:
    """The ``json`` webhook body (and console JSON) for one alert; versioned by schema_version.

    A story update is the alert's payload with ``type`` ``story_update`` and a ``story``."""
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "type": "alert" if view.update is None else "story_update",
        "id": view.id,
        "created_at": view.created_at.isoformat(),
        "rule": {
            "id": view.rule.id,
            "title": view.rule.title,
            "severity": view.rule.severity,
        },
        "article": {
            "id": view.article.id,
            "title": view.article.title,
            "link": view.article.href,
            "feed": view.article.feed,
            "feed_tags": list(view.article.feed_tags),
            "published": view.article.published.isoformat(),
            "author": view.article.author,
            "other_feeds": list(view.other_feeds),
        },
        "hits": [
            {
                "field": h.field,
                "start": h.start,
                "end": h.end,
                "text": clip(h.text, MATCHED_TEXT_MAX),
                "term": clip(h.term, MATCHED_TEXT_MAX),
                "set": h.set_name,
            }
            for h in view.hits[:HITS_MAX]
        ],
        "matched": [{"set": m.name, "texts": list(m.texts)} for m in view.matched],
        "snippet": _segments_text(view.snippet),
        "highlights": [s.text for s in view.snippet if s.hit],
        "surge": _surge_payload(view.surge) if view.surge else None,
    }
    if view.update is not None:
        payload["story"] = {
            "alert_id": view.update.alert_id,
            "sources": list(view.update.sources),
            "new_sources": list(view.update.new_sources),
            "count": view.update.count,
        }
    return payload


def _surge_payload(surge: SurgeView) -> dict[str, Any]:
    return {
        "sources": surge.sources,
        "within": surge.within,
        "start": surge.start.isoformat(),
        "feeds": list(surge.feeds),
        "total": surge.total,
        "more": surge.more,
        "articles": [
            {"title": a.title, "link": a.href, "feed": a.feed, "published": a.published.isoformat()}
            for a in surge.articles
        ],
    }


def digest_payload(view: DigestView) -> dict[str, Any]:
    """The ``json`` webhook body for a digest or a storm/cooldown summary."""
    return {
        "schema_version": SCHEMA_VERSION,
        "type": view.kind,
        "id": view.id,
        "name": view.name,
        "title": view.title,
        "created_at": view.created_at.isoformat(),
        "total": view.total,
        "omitted": view.omitted,
        "reasons": list(view.reasons),
        "groups": [
            {
                "severity": sg.severity,
                "rules": [
                    {
                        "id": rg.rule.id,
                        "title": rg.rule.title,
                        "alerts": [
                            {
                                **alert_payload(entry.alert),
                                "rules": [r.id for r in entry.rules],
                            }
                            for entry in rg.entries
                        ],
                    }
                    for rg in sg.rules
                ],
            }
            for sg in view.groups
        ],
    }
