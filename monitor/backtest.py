"""Backtests: run rules — new, edited or the active ones — over the articles already stored.

Pure over its inputs: articles come in pages from the store, matches go out as records; no
alert is raised. Against the active rule set it also says which articles a rule would newly
match or stop matching.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from monitor.models import Article, Rule, RuleMatch
from monitor.pipeline import Matcher
from monitor.surges import Episode, Member, Replay

SAMPLES = 5


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


def backtest(
    articles: Iterable[Article],
    candidate: Matcher,
    *,
    active: Matcher | None = None,
    only: str | None = None,
    reports: dict[str, RuleReport] | None = None,
) -> Iterator[Hit]:
    """Yield every (article, rule) match of ``candidate``; fill ``reports`` per rule."""
    reports = reports if reports is not None else {}
    for article in articles:
        found = {m.rule.id: m for m in candidate.match(article) if only in (None, m.rule.id)}
        before = (
            {m.rule.id for m in active.match(article) if only in (None, m.rule.id)}
            if active is not None
            else set(found)
        )
        for rule_id, m in found.items():
            report = reports.setdefault(rule_id, RuleReport(rule_id, m.rule.title))
            report.matched += 1
            report.by_day[article.published.date()] += 1
            if len(report.samples) < SAMPLES:
                report.samples.append((article, m))
            if rule_id not in before:
                report.newly_count += 1
                if len(report.newly) < SAMPLES:
                    report.newly.append(article)
            yield Hit(article, m)
        for rule_id in before - set(found):
            report = reports.setdefault(rule_id, RuleReport(rule_id, rule_id))
            report.stopped_count += 1
            if len(report.stopped) < SAMPLES:
                report.stopped.append(article)


def bar_chart(by_day: Counter[date], *, width: int = 40) -> list[str]:
    """One line per day from the first to the last, bars scaled to the busiest day."""
    if not by_day:
        return []
    first, last = min(by_day), max(by_day)
    peak = max(by_day.values())
    lines = []
    day = first
    while day <= last:
        n = by_day.get(day, 0)
        bar = "█" * max(1 if n else 0, round(n / peak * width))
        lines.append(f"{day.isoformat()} {bar} {n}")
        day += timedelta(days=1)
    return lines


class SurgeBacktest:
    """Surge rules replayed over a backtest's matches (in published order): their surges.

    The pipeline's own core (:class:`monitor.surges.Replay`), so a backtest shows the surges
    the rule would have raised, not an approximation of them.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._replay = Replay({r.id: r.surge for r in rules if r.surge is not None})
        self.episodes: dict[str, list[Episode]] = {}
        self.articles: dict[str, Article] = {}  # the surges' members, to list them

    def add(self, hit: Hit) -> tuple[Episode, ...]:
        """The surges this match starts (none for a rule without ``surge:``)."""
        rule, article = hit.match.rule, hit.article
        if rule.surge is None:
            return ()
        self.articles[article.id] = article
        found = self._replay.add(rule.id, Member(article.id, article.feed, article.published))
        self.episodes.setdefault(rule.id, []).extend(found)
        return found

    def members(self, episode: Episode) -> list[Article]:
        return [self.articles[m.article_id] for m in episode.members]
