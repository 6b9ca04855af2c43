"""Backtests: run rules — new, edited or the active ones — over the articles already stored.

The core (:func:`backtest`) is pure over its inputs: articles come in, matches go out as
records; no alert is raised. Against the active rule set it also says which articles a rule
would newly match or stop matching. :func:`stored_articles` is the one edge that reads the
store, page by page, each page in a short read of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from typing import NamedTuple

from monitor.models import Article, Rule, RuleMatch
from monitor.rules import EntrySpec, RuleSet, RuleSpec, SetSpec, compile_rules
from monitor.store import Store, UnitOfWork
from monitor.surges import Episode, Member, Replay

SAMPLES = 5
PAGE = 1000


@dataclass(slots=True)
class RuleReport:
    """What one rule did over the stored articles."""

    rule_id: str
    title: str
    matched: int = 0
    by_day: Counter[date] = field(default_factory=Counter)
    samples: list[tuple[Article, RuleMatch]] = field(default_factory=list)
    newly: list[Article] = field(default_factory=list)  # match now, not under the active set
    stopped: list[Article] = field(default_factory=list)  # matched under the active set only
    newly_count: int = 0
    stopped_count: int = 0


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    match: RuleMatch


@dataclass(slots=True)
class Progress:
    """How far a run went: articles read, and whether a bound stopped it early."""

    articles: int = 0
    last: datetime | None = None  # the publication time of the last article read
    stopped_by: str | None = None  # "time" or "articles" when a bound was hit


def changed_rules(candidate: RuleSet, active: RuleSet) -> frozenset[str]:
    """The candidate rules that may match differently from the active ones of the same id.

    A rule whose query, fields and feeds are those of the active rule, with the same sets,
    matches the same articles: it needs no second matching. A new rule is changed.
    """
    if candidate.version == active.version:
        return frozenset()
    same_sets = dict(candidate.sets) == dict(active.sets)
    changed = set()
    for rule in candidate.rules:
        before = active.get(rule.id)
        if (
            not same_sets
            or before is None
            or (before.query, before.fields, before.feeds) != (rule.query, rule.fields, rule.feeds)
        ):
            changed.add(rule.id)
    return frozenset(changed)


def sets_of(ruleset: RuleSet) -> list[SetSpec]:
    """A rule set's named sets (nested ones already expanded), to compile more rules with."""
    return [
        SetSpec(name, tuple(EntrySpec(e) for e in entries))
        for name, entries in ruleset.sets.items()
    ]


def active_versions(active: RuleSet, ids: frozenset[str]) -> RuleSet:
    """The active rules of these ids alone, compiled with the active sets: comparing an
    edited rule then costs its own matching, not a second pass of every active rule."""
    specs = [
        RuleSpec(id=r.id, title=r.title, query=r.query, severity=r.severity, fields=r.fields,
                 feeds=r.feeds)
        for r in active.rules
        if r.id in ids
    ]  # fmt: skip
    compiled = compile_rules(sets_of(active), specs, lint=False).ruleset
    return compiled if compiled is not None else active  # they compiled once: they do again


def backtest(
    articles: Iterable[Article],
    candidate: RuleSet,
    *,
    active: RuleSet | None = None,
    only: str | None = None,
    reports: dict[str, RuleReport] | None = None,
    tz: tzinfo = UTC,
    progress: Progress | None = None,
    deadline: float | None = None,
    max_articles: int | None = None,
) -> Iterator[Hit]:
    """Yield every (article, rule) match of ``candidate``; fill ``reports`` per rule.

    With ``active``, each candidate rule is compared with the active rule of the same id
    (only those: the active rules not given are not being tried). Days are counted in
    ``tz``. ``deadline`` (a ``time.monotonic()`` value) and ``max_articles`` bound the run;
    ``progress`` says how far it went and which bound stopped it.
    """
    reports = reports if reports is not None else {}
    progress = progress if progress is not None else Progress()
    compare = changed_rules(candidate, active) if active is not None else frozenset()
    if only is not None:
        compare = compare & {only}
    previous = active_versions(active, compare) if active is not None and compare else None
    for article in articles:
        if max_articles is not None and progress.articles >= max_articles:
            progress.stopped_by = "articles"
            return
        if deadline is not None and time.monotonic() > deadline:
            progress.stopped_by = "time"
            return
        progress.articles += 1
        progress.last = article.published
        found = [m for m in candidate.match(article) if only in (None, m.rule.id)]
        before: set[str] = set()
        if previous is not None:
            before = {m.rule.id for m in previous.match(article)}
        day = article.published.astimezone(tz).date()
        for m in found:
            rule_id = m.rule.id
            report = reports.get(rule_id)
            if report is None:
                report = reports[rule_id] = RuleReport(rule_id, m.rule.title)
            report.matched += 1
            report.by_day[day] += 1
            if len(report.samples) < SAMPLES:
                report.samples.append((article, m))
            if rule_id in compare:
                if rule_id in before:
                    before.discard(rule_id)
                else:
                    report.newly_count += 1
                    if len(report.newly) < SAMPLES:
                        report.newly.append(article)
            yield Hit(article, m)
        for rule_id in before:  # matched under the active rules, not under the candidate
            report = reports.get(rule_id)
            if report is None:
                rule = candidate.get(rule_id)
                report = reports[rule_id] = RuleReport(rule_id, rule.title if rule else rule_id)
            report.stopped_count += 1
            if len(report.stopped) < SAMPLES:
                report.stopped.append(article)


def bar_chart(by_day: Counter[date], *, width: int = 40) -> list[str]:
    """One line per day from the first to the last, bars scaled to the busiest day."""
    return [
        f"{day.isoformat()} {'█' * length} {n}" for day, n, length in day_bars(by_day, width=width)
    ]


def day_bars(
    by_day: Counter[date], *, width: int = 40, first: date | None = None, last: date | None = None
) -> list[tuple[date, int, int]]:
    """(day, count, bar length) for every day from ``first`` to ``last`` (default: the first
    and last days with a count), bars scaled to the busiest day; a day with any count shows."""
    days = [d for d, n in by_day.items() if n]
    if not days and (first is None or last is None):
        return []
    first = first if first is not None else min(days)
    last = last if last is not None else max(days)
    peak = max(by_day.values(), default=0) or 1
    out = []
    day = first
    while day <= last:
        n = by_day.get(day, 0)
        out.append((day, n, max(1 if n else 0, round(n / peak * width))))
        day += timedelta(days=1)
    return out


class SurgeBacktest:
    """Surge rules replayed over a backtest's matches (in published order): their surges.

    The pipeline's own core (:class:`monitor.surges.Replay`), so a backtest shows the surges
    the rule would have raised, not an approximation of them: an article counts for every
    feed that carried it, as stored (``sources``, filled by :func:`stored_articles` page by
    page; articles given otherwise count for their own feed).
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._replay = Replay({r.id: r.surge for r in rules if r.surge is not None})
        self.episodes: dict[str, list[Episode]] = {}
        self.articles: dict[str, Article] = {}  # the surges' members, to list them
        # article id → every feed that carried it, for the articles being read that more
        # than one feed carried
        self.sources: dict[str, list[str]] = {}

    @property
    def counting(self) -> bool:
        """Whether any rule is a surge rule (else nothing needs the sources)."""
        return bool(self._replay.surges)

    def add(self, hit: Hit) -> tuple[Episode, ...]:
        """The surges this match starts (none for a rule without ``surge:``)."""
        rule, article = hit.match.rule, hit.article
        if rule.surge is None:
            return ()
        self.articles[article.id] = article
        feeds = dict.fromkeys([article.feed, *self.sources.get(article.id, ())])
        if rule.feeds:  # limited to some feeds: another feed counts when named in them (its
            # tags are not stored, so one admitted by a tag:NAME entry is not counted)
            feeds = {f: None for f in feeds if f == article.feed or f in rule.feeds}
        found = self._replay.add(
            rule.id, *(Member(article.id, feed, article.published) for feed in feeds)
        )
        self.episodes.setdefault(rule.id, []).extend(found)
        return found

    def members(self, episode: Episode) -> list[Article]:
        """The surge's articles, each once (however many feeds carried it), oldest first."""
        return [self.articles[i] for i in episode.article_ids]


class Page(NamedTuple):
    articles: list[Article]
    sources: dict[str, list[str]]  # of those articles more than one feed carried


def _page(
    uow: UnitOfWork,
    *,
    since: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
    sources: bool,
) -> Page:
    rows = uow.articles.page(since=since, after=after, limit=limit)
    carried = uow.articles.sources_of([a.id for a in rows]) if sources and rows else {}
    return Page(rows, {k: v for k, v in carried.items() if len(v) > 1})


def stored_articles(
    store: Store,
    since: datetime,
    *,
    page: int = PAGE,
    sources: dict[str, list[str]] | None = None,
) -> Iterator[Article]:
    """The articles published since ``since``, oldest first, read a page at a time by key
    (published, id): no read holds the store for long, whatever the number of articles.

    ``sources``, when given, holds the feeds that carried each article of the page being
    read (those more than one feed carried), read in the same short read; it is replaced
    page by page, so a consumer must use an article's before asking for the next page."""
    after: tuple[datetime, str] | None = None
    while True:
        got = store.call(
            partial(_page, since=since, after=after, limit=page, sources=sources is not None),
            write=False,
        )
        if sources is not None:
            sources.clear()
            sources.update(got.sources)
        yield from got.articles
        if len(got.articles) < page:
            return
        after = (got.articles[-1].published, got.articles[-1].id)
