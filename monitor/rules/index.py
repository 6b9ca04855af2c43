"""One index over every phrase of every rule, so an article is read once, not once per rule.

As in Lucene's Monitor (Luwak) and the Elasticsearch percolator: each article field
is tokenized once; each distinct word is looked up once (exact form, folded form,
and its prefixes) to get the word patterns it satisfies, remembered per raw word;
one-word phrases follow directly, and the phrases of several words are keyed by their
first word and checked at its positions; each rule is indexed under a rare set of
phrases one of which must occur (and often a second set), so only candidate rules are
evaluated.

Per article the work is in C wherever possible (set of words, one dictionary lookup per
distinct word, field masks, candidate selection); positions are found only when a node
asks for them (NEAR, ATLEAST counts, hits of a matched rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from operator import itemgetter
from typing import cast

from monitor.models import FIELDS, Article
from monitor.rules.nodes import Occurrences
from monitor.rules.terms import Phrase, WordPattern
from monitor.rules.tokenize import Scanned, exact_form, fold

_CACHE_LIMIT = 500_000  # distinct raw words remembered before the word cache is reset
# What an article word satisfies: one-word phrase leaves, pattern ids in longer phrases.
_WordInfo = tuple[tuple[int, ...], frozenset[int]]
_PATTERNS = itemgetter(1)  # of a _WordInfo: the pattern ids used by multi-word phrases
_NO_WORD: _WordInfo = ((), frozenset())
_Known = dict[str | bytes, _WordInfo | tuple[()]]  # every raw word looked up: () if nothing


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
        single: dict[int, int] = {}  # pattern id -> leaf of the one-word phrase
        multi: dict[int, list[tuple[int, tuple[int, ...]]]] = {}  # first pattern -> phrases
        for leaf, phrase in enumerate(self.phrases):
            pids = tuple(pattern_ids.setdefault(w, len(pattern_ids)) for w in phrase.words)
            if len(pids) == 1:
                single[pids[0]] = leaf
            else:
                multi.setdefault(pids[0], []).append((leaf, pids[1:]))
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
            single,
            {pid: tuple(phrases) for pid, phrases in multi.items()},
            {leaf: tuple(rules) for leaf, rules in plain.items()},
            {
                leaf: (
                    tuple(r for r, also in rules for _ in also),
                    tuple(a for _, also in rules for a in sorted(also)),
                )
                for leaf, rules in paired.items()
            },
            len(self.phrases),
            sum(len(rules) for rules in plain.values()) + sum(map(len, paired.values())),
        )


class Index:
    """Finds phrase occurrences in an article and the rules worth evaluating on it."""

    def __init__(
        self,
        pattern_ids: dict[WordPattern, int],
        single: dict[int, int],
        multi: dict[int, tuple[tuple[int, tuple[int, ...]], ...]],
        postings: dict[int, tuple[int, ...]],
        paired: dict[int, tuple[tuple[int, ...], tuple[int, ...]]],
        phrase_count: int,
        posting_count: int,
    ) -> None:
        self._single = single
        self._multi = multi
        self._in_multi = (
            frozenset(p for phrases in multi.values() for _, rest in phrases for p in rest)
            | multi.keys()
        )
        self._postings = postings  # leaf -> the rules anchored on it alone
        # leaf -> the rules anchored on it and a second set of leaves, and those sets
        # leaf -> the rules anchored on it and on a second set of leaves, flat: rule r is
        # listed once per leaf of its second set, in step with that leaf in _paired_also.
        self._paired_rules = {leaf: rules for leaf, (rules, _) in paired.items()}
        self._paired_also = {leaf: also for leaf, (_, also) in paired.items()}
        self._words: dict[tuple[str, bool], int] = {}
        self._prefixes: dict[tuple[str, bool], int] = {}
        for pattern, pid in pattern_ids.items():
            table = self._prefixes if pattern.prefix else self._words
            table[(pattern.text, pattern.exact)] = pid
        self._longest_prefix = max((len(t) for t, _ in self._prefixes), default=0)
        # Every raw word looked up so far: what it satisfies (one-word phrase leaves,
        # pattern ids used by longer phrases), or () when nothing. Replaced when full (an
        # article in progress keeps the one it started with).
        self._known: _Known = {}
        self.stats = IndexStats(
            phrase_count,
            len(pattern_ids),
            # the phrase structure's nodes: first words, then the further words of long phrases
            len(single.keys() | multi.keys()) + sum(len(r) for p in multi.values() for _, r in p),
            posting_count,
        )

    def _learn(self, raw: str | bytes, known: _Known) -> _WordInfo | tuple[()]:
        """Look up every word pattern that the article word ``raw`` satisfies."""
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
        info: _WordInfo | tuple[()] = ()
        if found:
            single = self._single
            leaves = tuple(single[p] for p in found if p in single)
            in_multi = frozenset(p for p in found if p in self._in_multi)
            info = (leaves, in_multi)
        known[raw] = info
        return info

    def occurrences(
        self, article: Article, fields: Iterable[int] = range(len(FIELDS))
    ) -> Occurrences:
        """Which phrases occur in the article's fields (by field index)."""
        known = self._known
        if len(known) > _CACHE_LIMIT:  # forget, between articles
            known = self._known = {}
        occ = Occurrences()
        for fi in fields:
            text = article.text(FIELDS[fi])
            if not text:
                continue
            scanned = Scanned(text)
            words: Sequence[str | bytes] = scanned.words
            distinct = list(set(words))
            infos = list(map(known.get, distinct))  # one hash lookup per distinct word, in C
            if None in infos:
                learn = self._learn
                infos = [
                    learn(w, known) if i is None else i
                    for w, i in zip(distinct, infos, strict=True)
                ]
            found = cast(list[_WordInfo], list(filter(None, infos)))
            if not found:
                continue
            hit_words = list(compress(distinct, infos))
            occ.add_field(fi, scanned, hit_words, found)
            if self._multi:
                patterns = list(map(_PATTERNS, found))
                in_phrases = list(compress(zip(hit_words, patterns, strict=True), patterns))
                if in_phrases:
                    self._phrases(occ, fi, scanned, in_phrases, known)
        return occ

    def _phrases(
        self,
        occ: Occurrences,
        fi: int,
        scanned: Scanned,
        in_phrases: list[tuple[str | bytes, frozenset[int]]],
        known: _Known,
    ) -> None:
        """Find the multi-word phrases all of whose word patterns occur in the field."""
        patterns: set[int] = set()
        for _, pids in in_phrases:
            patterns |= pids
        multi = self._multi
        words: Sequence[str | bytes] = scanned.words
        n = len(words)
        for first in patterns & multi.keys():
            starts: list[int] | None = None
            for leaf, rest in multi[first]:
                if not patterns.issuperset(rest):
                    continue
                if starts is None:
                    starts = []
                    for raw, pids in in_phrases:
                        if first in pids:
                            starts += scanned.positions(raw)
                    starts.sort()
                k = len(rest)
                for i in starts:
                    if i + k < n and all(
                        pid in (known.get(words[i + j]) or _NO_WORD)[1]
                        for j, pid in enumerate(rest, 1)
                    ):
                        occ.add(leaf, fi, i, i + k + 1)

    def candidates(self, occ: Occurrences) -> list[int]:
        """Indexes of the rules one of whose anchor phrases occurs, in rule order.

        Every step runs in C: a rule anchored on a pair of phrase sets is kept when its
        second set occurs too.
        """
        present = occ.masks.keys()
        plain = self._postings.keys() & present
        found = set(chain.from_iterable(map(self._postings.__getitem__, plain)))
        paired = self._paired_rules.keys() & present
        if paired:
            rules = chain.from_iterable(map(self._paired_rules.__getitem__, paired))
            also = chain.from_iterable(map(self._paired_also.__getitem__, paired))
            found.update(compress(rules, map(occ.masks.__contains__, also)))
        return sorted(found)
