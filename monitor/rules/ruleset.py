"""A compiled, immutable set of rules: the pure matcher the daemon, CLI and tests share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter

from monitor.models import Article, Hit, Rule, RuleMatch
from monitor.rules.index import Index, IndexStats
from monitor.rules.nodes import CNode, ExplainNode, HitRef, Occurrences
from monitor.rules.spec import ExampleSpec


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """The feeds a rule is restricted to, by name or by tag (``feeds: [tag:wire, reuters]``)."""

    names: frozenset[str]
    tags: frozenset[str]

    @classmethod
    def of(cls, entries: Sequence[str]) -> FeedFilter | None:
        """The filter for a rule's ``feeds:`` entries; None (every feed) when there are none."""
        if not entries:
            return None
        tags = frozenset(e.removeprefix("tag:") for e in entries if e.startswith("tag:"))
        names = frozenset(e for e in entries if not e.startswith("tag:"))
        return cls(names, tags)

    def admits(self, article: Article) -> bool:
        return article.feed in self.names or not self.tags.isdisjoint(article.feed_tags)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    root: CNode
    examples: tuple[ExampleSpec, ...] = ()
    feeds: FeedFilter | None = None  # None: every feed


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a rule did or did not match an article: the marked tree and the hits."""

    rule: Rule
    tree: ExplainNode
    matched: bool
    hits: tuple[Hit, ...]
    feed_admitted: bool = True  # False: the query may hold, but the rule skips this feed


@dataclass(frozen=True, slots=True)
class RuleSetStats:
    version: str
    rules: int
    sets: int
    set_entries: int
    index: IndexStats


class RuleSet:
    """Rules compiled into one index. ``match`` is pure: no I/O, safe to share."""

    def __init__(
        self,
        compiled: Sequence[CompiledRule],
        index: Index,
        sets: Mapping[str, tuple[str, ...]],
        version: str,
        keys: Sequence[int] | None = None,
    ) -> None:
        """``keys``: each rule's key in ``index`` (default: its position)."""
        self._compiled = tuple(compiled)
        keys = range(len(self._compiled)) if keys is None else keys
        self._by_key = dict(zip(keys, self._compiled, strict=True))
        self._by_id: dict[str, CompiledRule] = dict(
            zip(map(_ID, self._compiled), self._compiled, strict=True)
        )
        # Candidates come by key; when keys are not in rule order (some rules were
        # compiled again on a reload) the matches are put in rule order by their rank.
        ordered = list(keys) == sorted(keys)
        self._rank = None if ordered else dict(zip(keys, range(len(keys)), strict=True))
        self._index = index
        self.rules: tuple[Rule, ...] = tuple(map(_RULE, self._compiled))
        self.sets: Mapping[str, tuple[str, ...]] = dict(sets)
        self.version = version

    def __len__(self) -> int:
        return len(self._compiled)

    def __repr__(self) -> str:
        return f"<RuleSet version={self.version} rules={len(self)}>"

    def get(self, rule_id: str) -> Rule | None:
        c = self._by_id.get(rule_id)
        return None if c is None else c.rule

    def examples(self, rule_id: str) -> tuple[ExampleSpec, ...]:
        return self._by_id[rule_id].examples

    def match(self, article: Article) -> list[RuleMatch]:
        """Every rule that matches the article, in rule order, with its hits.

        A rule restricted to some feeds (``feeds:``) is skipped for articles of others.
        """
        occ = self._index.occurrences(article)
        if not occ.masks:
            return []
        by_key = self._by_key
        found: list[RuleMatch] = []
        keys: list[int] = []
        for key in self._index.candidates(occ):
            c = by_key[key]
            if c.feeds is not None and not c.feeds.admits(article):
                continue
            if c.root.test(occ):
                found.append(RuleMatch(c.rule, self._hits(occ, c.root)))
                keys.append(key)
        rank = self._rank
        if rank is not None and len(found) > 1:
            ranks = [rank[k] for k in keys]
            found = [m for _, m in sorted(zip(ranks, found, strict=True), key=_FIRST)]
        return found

    def evaluate(self, rule_id: str, article: Article) -> RuleMatch | None:
        """Whether one rule's query holds (for examples and tests).

        Bypasses candidate selection and the feed filter: examples test the query.
        """
        c = self._by_id[rule_id]
        occ = self._index.occurrences(article)
        if not c.root.test(occ):
            return None
        return RuleMatch(c.rule, self._hits(occ, c.root))

    def explain(self, rule_id: str, article: Article) -> Explanation:
        """The rule's query as a tree, each node marked with whether it held on the article."""
        c = self._by_id[rule_id]
        occ = self._index.occurrences(article)
        admitted = c.feeds is None or c.feeds.admits(article)
        held = c.root.test(occ)
        hits = self._hits(occ, c.root) if held else ()
        return Explanation(c.rule, c.root.explain(occ), held and admitted, hits, admitted)

    def stats(self) -> RuleSetStats:
        return RuleSetStats(
            self.version,
            len(self._compiled),
            len(self.sets),
            sum(len(v) for v in self.sets.values()),
            self._index.stats,
        )

    @staticmethod
    def _hits(occ: Occurrences, root: CNode) -> tuple[Hit, ...]:
        """The rule's distinct hits by field, offsets and term (first seen wins a tie)."""
        refs: list[HitRef] = []
        root.collect(occ, refs)
        # Token positions order hits as their char offsets do (tokens do not overlap).
        ordered = sorted(dict.fromkeys(refs), key=_HIT_ORDER)
        return tuple(map(occ.hit, ordered))


_HIT_ORDER = itemgetter(0, 1, 2, 3)
_FIRST = itemgetter(0)
_ID = attrgetter("rule.id")
_RULE = attrgetter("rule")
