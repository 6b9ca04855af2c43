"""One index over every phrase of every rule, so an article is read once, not once per rule.

As in Lucene's Monitor (Luwak) and the Elasticsearch percolator: each article field
is tokenized once; each distinct word is looked up once (exact form, folded form,
and its prefixes) to get the word patterns it satisfies, remembered per raw word;
one-word phrases follow directly, and the phrases of several words are keyed by their
first two words (both must occur before any position is looked at) and checked at the
first word's positions; each rule is indexed under a rare set of phrases one of which
must occur (and often a second set, keyed by both), so only candidate rules are
evaluated.

Per article the work is in C wherever possible (set of words, one dictionary lookup per
distinct word, field masks, candidate selection); positions are found only when a node
asks for them (NEAR, ATLEAST counts, hits of a matched rule).

An index is immutable (a rule set in use keeps its own) but is *updated* into a new one
by removing and adding rules: the Python work is in proportion to the rules changed, so
a hot reload of one file of many does not rebuild the index of the others. Phrase and
word-pattern ids come from a :class:`Vocabulary` that outlives the indexes, so a compiled
rule's leaf ids stay valid in every index built after it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from operator import attrgetter, itemgetter
from typing import NamedTuple, cast

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
_LEAVES = attrgetter("leaves")
# The longer phrases under one first and second word pattern: (leaf, the ids after the first).
_Phrases = tuple[tuple[int, tuple[int, ...]], ...]


@dataclass(frozen=True, slots=True)
class IndexStats:
    phrases: int
    word_patterns: int
    trie_nodes: int
    postings: int


class IndexEntry(NamedTuple):
    """What the index keeps of one rule.

    ``key``: the rule's key in its rule set. ``leaves``: every phrase its query uses (a
    phrase is searched for while some rule uses it). The rule is a candidate for an
    article only when one of ``anchors`` occurs in it (and, when given, one of ``also``).
    """

    key: int
    leaves: frozenset[int]
    anchors: frozenset[int]
    also: frozenset[int] | None


class Vocabulary:
    """Ids of phrases (leaves) and word patterns, stable for as long as it lives.

    Shared by successive compilations (one per reload), so a rule compiled once keeps
    valid leaf ids in every later index; it only grows (a loader starts a new one when
    it holds far more phrases than are in use).
    """

    def __init__(self) -> None:
        self.leaf_ids: dict[Phrase, int] = {}
        self.phrases: list[Phrase] = []
        self.pattern_ids: dict[WordPattern, int] = {}
        self.pattern_by_id: list[WordPattern] = []
        self._patterns: list[tuple[int, ...]] = []  # leaf -> its words' pattern ids

    def leaf(self, phrase: Phrase) -> int:
        """The id of a phrase, shared by every rule that uses it."""
        found = self.leaf_ids.get(phrase)
        if found is None:
            found = self.leaf_ids[phrase] = len(self.phrases)
            self.phrases.append(phrase)
            self._patterns.append(tuple(map(self._pattern, phrase.words)))
        return found

    def _pattern(self, word: WordPattern) -> int:
        found = self.pattern_ids.get(word)
        if found is None:
            found = self.pattern_ids[word] = len(self.pattern_by_id)
            self.pattern_by_id.append(word)
        return found

    def patterns(self, leaf: int) -> tuple[int, ...]:
        return self._patterns[leaf]


class Index:
    """Finds phrase occurrences in an article and the rules worth evaluating on it."""

    def __init__(self) -> None:
        """An empty index: :meth:`updated` adds rules to it."""
        # What a word can satisfy, for the phrases in use:
        self._words: dict[tuple[str, bool], int] = {}  # (form, exact) -> pattern id
        self._prefixes: dict[tuple[str, bool], int] = {}  # the same for prefix patterns
        self._longest_prefix = 0
        self._single: dict[int, int] = {}  # pattern id -> leaf of its one-word phrase
        # first pattern id -> second pattern id -> the longer phrases starting with those
        # two, as (leaf, the ids after the first): a phrase is looked at only when both occur
        self._multi: dict[int, dict[int, _Phrases]] = {}
        # The same second ids as a set each: an article's ids are intersected with it by
        # their stored hashes (iterating a dict's keys would read each key object).
        self._seconds: dict[int, frozenset[int]] = {}
        self._in_multi: dict[int, int] = {}  # pattern id -> longer phrases using it
        self._pattern_refs: dict[int, int] = {}  # pattern id -> phrases in use with it
        self._leaf_refs: dict[int, int] = {}  # leaf -> rules using it
        # Which rules to evaluate, by the leaves that occur:
        self._postings: dict[int, tuple[int, ...]] = {}  # leaf -> rules anchored on it alone
        # leaf -> leaf of a second set -> the rules anchored on the first and on a set
        # holding the second: such a rule is listed under every leaf of its second set,
        # and an article walks only the lists whose two leaves both occur.
        self._paired: dict[int, dict[int, tuple[int, ...]]] = {}
        self._paired_seconds: dict[int, frozenset[int]] = {}  # its second leaves, as a set
        # Every raw word looked up so far: what it satisfies (one-word phrase leaves,
        # pattern ids used by longer phrases), or () when nothing. Replaced when full (an
        # article in progress keeps the one it started with); shared with the index this
        # one was updated from when their phrases are the same.
        self._known: _Known = {}

    @property
    def phrases_in_use(self) -> int:
        return len(self._leaf_refs)

    @property
    def stats(self) -> IndexStats:
        multi = self._multi
        return IndexStats(
            len(self._leaf_refs),
            len(self._pattern_refs),
            # the phrase structure's nodes: first words, then the further words of long phrases
            len(self._single.keys() | multi.keys())
            + sum(
                len(rest)
                for by_second in multi.values()
                for phrases in by_second.values()
                for _, rest in phrases
            ),
            sum(map(len, self._postings.values()))
            + sum(len(set(chain.from_iterable(p.values()))) for p in self._paired.values()),
        )

    # ------------------------------------------------------------------ updating

    def updated(
        self, vocabulary: Vocabulary, remove: Sequence[IndexEntry], add: Sequence[IndexEntry]
    ) -> Index:
        """A new index without the rules ``remove`` and with the rules ``add``.

        This index is left as it was (a rule set may be matching with it). Keys in
        ``remove`` must be in this index, keys in ``add`` must not.
        """
        new = Index()
        leaf_refs = new._leaf_refs = dict(self._leaf_refs)
        removed = Counter(chain.from_iterable(map(_LEAVES, remove)))
        added = Counter(chain.from_iterable(map(_LEAVES, add)))
        for leaf, n in removed.items():
            left = leaf_refs[leaf] - n
            if left:
                leaf_refs[leaf] = left
            else:
                del leaf_refs[leaf]
        for leaf, n in added.items():
            leaf_refs[leaf] = leaf_refs.get(leaf, 0) + n
        old_refs = self._leaf_refs
        dead = [leaf for leaf in removed if leaf not in leaf_refs]
        born = [leaf for leaf in added if leaf not in old_refs]
        if dead or born:
            new._phrases_from(self, vocabulary, dead, born)
        else:  # the same phrases: share what words satisfy, and what was learnt of them
            new._words, new._prefixes = self._words, self._prefixes
            new._longest_prefix = self._longest_prefix
            new._single, new._multi = self._single, self._multi
            new._seconds = self._seconds
            new._in_multi, new._pattern_refs = self._in_multi, self._pattern_refs
            new._known = self._known
        new._postings_from(self, remove, add)
        return new

    def _phrases_from(
        self, old: Index, vocabulary: Vocabulary, dead: list[int], born: list[int]
    ) -> None:
        """The phrase structures of ``old``, without the ``dead`` phrases, with the ``born``."""
        words, prefixes = dict(old._words), dict(old._prefixes)
        single, in_multi = dict(old._single), dict(old._in_multi)
        pattern_refs = dict(old._pattern_refs)
        multi = dict(old._multi)
        copied: set[int] = set()  # first pattern ids whose inner table is this index's own

        def own(first: int) -> dict[int, _Phrases]:
            """The table under ``first``, copied from ``old`` before it is changed."""
            if first in copied:
                return multi[first]
            copied.add(first)
            found = multi[first] = dict(multi.get(first, {}))
            return found

        by_id = vocabulary.pattern_by_id
        longest = old._longest_prefix
        shrunk = False
        for leaf in dead:
            pids = vocabulary.patterns(leaf)
            if len(pids) == 1:
                del single[pids[0]]
            else:
                by_second = own(pids[0])
                left = tuple(p for p in by_second[pids[1]] if p[0] != leaf)
                if left:
                    by_second[pids[1]] = left
                else:
                    del by_second[pids[1]]
                for pid in set(pids):
                    in_multi[pid] -= 1
                    if not in_multi[pid]:
                        del in_multi[pid]
            for pid in set(pids):
                pattern_refs[pid] -= 1
                if not pattern_refs[pid]:
                    del pattern_refs[pid]
                    pattern = by_id[pid]
                    if pattern.prefix:
                        del prefixes[(pattern.text, pattern.exact)]
                        shrunk = shrunk or len(pattern.text) == longest
                    else:
                        del words[(pattern.text, pattern.exact)]
        for leaf in born:
            pids = vocabulary.patterns(leaf)
            for pid in set(pids):
                n = pattern_refs.get(pid, 0)
                pattern_refs[pid] = n + 1
                if not n:
                    pattern = by_id[pid]
                    if pattern.prefix:
                        prefixes[(pattern.text, pattern.exact)] = pid
                        longest = max(longest, len(pattern.text))
                    else:
                        words[(pattern.text, pattern.exact)] = pid
            if len(pids) == 1:
                single[pids[0]] = leaf
            else:
                by_second = own(pids[0])
                by_second[pids[1]] = (*by_second.get(pids[1], ()), (leaf, pids[1:]))
                for pid in set(pids):
                    in_multi[pid] = in_multi.get(pid, 0) + 1
        if shrunk:
            longest = max((len(text) for text, _ in prefixes), default=0)
        self._words, self._prefixes, self._longest_prefix = words, prefixes, longest
        self._single, self._in_multi, self._pattern_refs = single, in_multi, pattern_refs
        self._multi = {pid: by_second for pid, by_second in multi.items() if by_second}
        seconds = self._seconds = dict(old._seconds)
        for first in copied:
            if first in self._multi:
                seconds[first] = frozenset(self._multi[first])
            else:
                seconds.pop(first, None)

    def _postings_from(
        self, old: Index, remove: Sequence[IndexEntry], add: Sequence[IndexEntry]
    ) -> None:
        """The postings of ``old`` without the rules ``remove``, with the rules ``add``."""
        gone: defaultdict[int, set[int]] = defaultdict(set)  # leaf -> keys it loses
        for entry in remove:
            key = entry.key
            for leaf in entry.anchors:
                gone[leaf].add(key)
        plain: defaultdict[int, list[int]] = defaultdict(list)  # leaf -> keys it gains
        pairs: dict[int, dict[int, list[int]]] = {}  # leaf -> leaf of a second set -> keys
        for key, _, anchors, also in add:
            if also is None:
                for leaf in anchors:
                    plain[leaf].append(key)
            else:
                for leaf in anchors:
                    gains = pairs.get(leaf)
                    if gains is None:
                        gains = pairs[leaf] = {}
                    for other in also:
                        keys = gains.get(other)
                        if keys is None:
                            gains[other] = [key]
                        else:
                            keys.append(key)
        postings = self._postings = dict(old._postings)
        paired = self._paired = dict(old._paired)
        paired_seconds = self._paired_seconds = dict(old._paired_seconds)
        for leaf in gone.keys() | plain.keys():
            dropped = gone.get(leaf)
            kept = postings.get(leaf, ())
            found = [k for k in kept if k not in dropped] if dropped else list(kept)
            found += plain.get(leaf, ())
            if found:
                postings[leaf] = tuple(found)
            else:
                postings.pop(leaf, None)
        for leaf in gone.keys() | pairs.keys():
            dropped = gone.get(leaf)
            gained = pairs.get(leaf, {})
            before = paired.get(leaf)
            if before is None:  # a new anchor (every one, on a first build)
                lists = {other: tuple(keys) for other, keys in gained.items()}
            else:
                lists = {}
                for other, had in before.items():
                    rules = [k for k in had if k not in dropped] if dropped else list(had)
                    rules += gained.get(other, ())
                    if rules:
                        lists[other] = tuple(rules)
                for other, keys in gained.items():
                    if other not in lists:
                        lists[other] = tuple(keys)
            if lists:
                paired[leaf] = lists
                paired_seconds[leaf] = frozenset(lists)
            else:
                paired.pop(leaf, None)
                paired_seconds.pop(leaf, None)

    # ------------------------------------------------------------------ matching

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
        patterns: set[int] = set().union(*map(_PATTERNS, in_phrases))
        multi = self._multi
        words: Sequence[str | bytes] = scanned.words
        n = len(words)
        firsts = list(patterns & multi.keys())
        # the second word patterns present under each first one: usually none
        both = list(map(patterns.intersection, map(self._seconds.__getitem__, firsts)))
        for first, seconds in compress(zip(firsts, both, strict=True), both):
            by_second = multi[first]
            starts: list[int] | None = None
            for leaf, rest in chain.from_iterable(map(by_second.__getitem__, seconds)):
                if len(rest) > 1 and not patterns.issuperset(rest):
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
        """Keys of the rules one of whose anchor phrases occurs, ascending.

        A rule anchored on a pair of phrase sets is found only under a pair of leaves
        that both occur: the lists walked are those of rules that are candidates.
        """
        present = occ.masks.keys()
        postings = self._postings
        found = set(chain.from_iterable(map(postings.__getitem__, postings.keys() & present)))
        paired = self._paired
        anchors = list(paired.keys() & present)
        if anchors:
            here = set(present)
            # the second leaves present under each anchor present: usually none
            both = list(map(here.intersection, map(self._paired_seconds.__getitem__, anchors)))
            for leaf, others in compress(zip(anchors, both, strict=True), both):
                by_second = paired[leaf]
                found.update(chain.from_iterable(map(by_second.__getitem__, others)))
        return sorted(found)
