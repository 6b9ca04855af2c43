"""A compiled, immutable set of rules: the pure matcher the daemon, CLI and tests share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import NamedTuple

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


class RuleTable(NamedTuple):
    """How a rule set finds its rules: by index key and by id, in rule order.

    When the keys are not in rule order (some rules were compiled again on a reload),
    ``place`` gives each key's (source, position) and ``source_rank`` each source's rank,
    and the matches of an article are put in rule order by them. A reload builds the
    table by patching the last one (see :class:`~monitor.rules.compiler.Compiler`).
    """

    by_key: dict[int, CompiledRule]
    by_id: dict[str, CompiledRule]
    rules: tuple[Rule, ...]
    place: dict[int, tuple[int, int]]
    source_rank: dict[int, int] | None  # None: the keys are in rule order

    @classmethod
    def of(cls, compiled: Sequence[CompiledRule], keys: Sequence[int]) -> RuleTable:
        """The table of rules in order (one source), with their keys."""
        place = dict(zip(keys, zip(repeat(0), range(len(keys))), strict=True))
        ordered = list(keys) == sorted(keys)
        return cls(
            dict(zip(keys, compiled, strict=True)),
            dict(zip(map(_ID, compiled), compiled, strict=True)),
            tuple(map(_RULE, compiled)),
            place,
            None if ordered else {0: 0},
        )


class RuleSet:
    """Rules compiled into one index. ``match`` is pure: no I/O, safe to share."""

    def __init__(
        self,
        compiled: Sequence[CompiledRule],
        index: Index,
        sets: Mapping[str, tuple[str, ...]],
        version: str,
        keys: Sequence[int] | None = None,
        *,
        table: RuleTable | None = None,
    ) -> None:
        """``keys``: each rule's key in ``index`` (default: its position); ``table``: the
        rules' table when the caller has it (``compiled`` and ``keys`` are then unused)."""
        if table is None:
            table = RuleTable.of(compiled, range(len(compiled)) if keys is None else keys)
        self._by_key = table.by_key
        self._by_id = table.by_id
        self._place = table.place
        self._source_rank = table.source_rank
        self._index = index
        self.rules: tuple[Rule, ...] = table.rules
        self.sets: Mapping[str, tuple[str, ...]] = dict(sets)
        self.version = version

    def __len__(self) -> int:
        return len(self.rules)

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
        source_rank = self._source_rank
        if source_rank is not None and len(found) > 1:
            places = map(self._place.__getitem__, keys)
            ranks = [(source_rank[source], i) for source, i in places]
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
            len(self.rules),
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
