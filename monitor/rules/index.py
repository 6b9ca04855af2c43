"""One index over every phrase of every rule, so an article is read once, not once per rule.

As in Lucene's Monitor (Luwak) and the Elasticsearch percolator: each article field
is tokenized once; each distinct word is looked up once (exact form, folded form,
and its prefixes) to get the word patterns it satisfies; a token trie built from all
phrases turns those into phrase occurrences; and each rule is indexed under a rare
set of phrases one of which must occur, so only candidate rules are evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import cast

from monitor.models import FIELDS, Article
from monitor.rules.nodes import Occurrences
from monitor.rules.terms import Phrase, WordPattern
from monitor.rules.tokenize import exact_form, fold, scan

_CACHE_LIMIT = 500_000  # distinct raw words remembered before the word cache is reset


class _TrieNode:
    __slots__ = ("children", "leaves")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.leaves: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexStats:
    phrases: int
    word_patterns: int
    trie_nodes: int
    postings: int


class IndexBuilder:
    """Collects phrases (as leaf ids) and the rules' anchor sets, then builds an :class:`Index`."""

    def __init__(self) -> None:
        self.leaf_ids: dict[Phrase, int] = {}
        self.phrases: list[Phrase] = []
        self._anchors: list[tuple[int, frozenset[int], frozenset[int] | None]] = []

    def leaf(self, phrase: Phrase) -> int:
        """The id of a phrase, shared by every rule that uses it."""
        found = self.leaf_ids.get(phrase)
        if found is None:
            found = self.leaf_ids[phrase] = len(self.phrases)
            self.phrases.append(phrase)
        return found

    def anchor(
        self, rule_index: int, leaves: frozenset[int], also: frozenset[int] | None = None
    ) -> None:
        """Rule ``rule_index`` can only match an article in which one of ``leaves`` occurs
        (and, when given, one of ``also`` too: a cheap second filter before evaluation)."""
        self._anchors.append((rule_index, leaves, also))

    def build(self) -> Index:
        pattern_ids: dict[WordPattern, int] = {}
        root = _TrieNode()
        nodes = 1
        for leaf, phrase in enumerate(self.phrases):
            node = root
            for word in phrase.words:
                pid = pattern_ids.setdefault(word, len(pattern_ids))
                child = node.children.get(pid)
                if child is None:
                    child = node.children[pid] = _TrieNode()
                    nodes += 1
                node = child
            node.leaves = (*node.leaves, leaf)
        plain: dict[int, list[int]] = {}
        paired: dict[int, list[tuple[int, frozenset[int]]]] = {}
        for rule_index, leaves, also in self._anchors:
            for leaf in leaves:
                if also is None:
                    plain.setdefault(leaf, []).append(rule_index)
                else:
                    paired.setdefault(leaf, []).append((rule_index, also))
        return Index(
            pattern_ids,
            root.children,
            {leaf: tuple(rules) for leaf, rules in plain.items()},
            {leaf: tuple(rules) for leaf, rules in paired.items()},
            len(self.phrases),
            nodes,
        )


class Index:
    """Finds phrase occurrences in an article and the rules worth evaluating on it."""

    def __init__(
        self,
        pattern_ids: dict[WordPattern, int],
        roots: dict[int, _TrieNode],
        postings: dict[int, tuple[int, ...]],
        paired: dict[int, tuple[tuple[int, frozenset[int]], ...]],
        phrase_count: int,
        trie_nodes: int,
    ) -> None:
        self._roots = roots
        self._postings = postings
        self._paired = paired
        self._words: dict[tuple[str, bool], int] = {}
        self._prefixes: dict[tuple[str, bool], int] = {}
        for pattern, pid in pattern_ids.items():
            table = self._prefixes if pattern.prefix else self._words
            table[(pattern.text, pattern.exact)] = pid
        self._longest_prefix = max((len(t) for t, _ in self._prefixes), default=0)
        self._cache: dict[str | bytes, tuple[int, ...]] = {}
        self.stats = IndexStats(
            phrase_count,
            len(pattern_ids),
            trie_nodes,
            sum(len(p) for p in postings.values()) + sum(len(p) for p in paired.values()),
        )

    def _patterns_of(self, raw: str | bytes) -> tuple[int, ...]:
        """Ids of every word pattern that the article word ``raw`` satisfies."""
        exact = exact_form(raw)
        folded = fold(exact)
        found: list[int] = []
        words, prefixes = self._words, self._prefixes
        for form, is_exact in ((folded, False), (exact, True)):
            pid = words.get((form, is_exact))
            if pid is not None:
                found.append(pid)
            if prefixes:
                for k in range(3, min(len(form), self._longest_prefix) + 1):
                    pid = prefixes.get((form[:k], is_exact))
                    if pid is not None:
                        found.append(pid)
        result = tuple(found)
        cache = self._cache
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[raw] = result
        return result

    def occurrences(
        self, article: Article, fields: Iterable[int] = range(len(FIELDS))
    ) -> Occurrences:
        """Where each phrase occurs in the article's fields (by field index)."""
        occ = Occurrences()
        masks, where = occ.masks, occ.where
        get = self._cache.get
        roots = self._roots
        lookup = self._patterns_of
        for fi in fields:
            text = article.text(FIELDS[fi])
            if not text:
                continue
            bit = 1 << fi
            words: Sequence[str | bytes] = scan(text)
            n = len(words)
            pats: list[tuple[int, ...] | None] = list(map(get, words))
            if None in pats:
                for i, p in enumerate(pats):
                    if p is None:
                        pats[i] = lookup(words[i])
            found_pats = cast(list[tuple[int, ...]], pats)
            # Only positions whose word satisfies some pattern (a non-empty tuple).
            for i in compress(range(n), found_pats):
                for pid in found_pats[i]:
                    node = roots.get(pid)
                    if node is None:
                        continue
                    stack = [(node, i)]
                    while stack:
                        node, j = stack.pop()
                        for leaf in node.leaves:
                            masks[leaf] = masks.get(leaf, 0) | bit
                            found = where.get(leaf)
                            if found is None:
                                where[leaf] = [(fi, i, j + 1)]
                            else:
                                found.append((fi, i, j + 1))
                        if node.children and j + 1 < n:
                            for q in found_pats[j + 1]:
                                child = node.children.get(q)
                                if child is not None:
                                    stack.append((child, j + 1))
        return occ

    def candidates(self, occ: Occurrences) -> list[int]:
        """Indexes of the rules one of whose anchor phrases occurs, in rule order."""
        postings, paired = self._postings, self._paired
        present = occ.masks.keys()
        found: set[int] = set()
        for leaf in present:
            rules = postings.get(leaf)
            if rules is not None:
                found.update(rules)
            pairs = paired.get(leaf)
            if pairs is not None:
                found.update([r for r, also in pairs if not present.isdisjoint(also)])
        return sorted(found)
