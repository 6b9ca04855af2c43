"""Compiled query nodes, evaluated against the term occurrences found in one article.

The index finds where every phrase of every rule occurs (``Occurrences``); a compiled
rule then only looks those up. Each node can *test* (is it true?), *collect* the hits
that justify a true result, and *explain* itself as a tree marked true/false.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter

from monitor.models import FIELDS, Hit
from monitor.rules.tokenize import Scanned

# An occurrence of a phrase: (field index, first token, token after the last).
Occurrence = tuple[int, int, int]
# A hit before char offsets are known: occurrence + the term label and set name.
HitRef = tuple[int, int, int, str, str | None]
_LEAVES = itemgetter(0)  # of an info: the leaves of the one-word phrases a word satisfies
_EVERY_FIELD = (1 << len(FIELDS)) - 1
# What an article word satisfies: the leaves of one-word phrases, the patterns of longer ones.
_Infos = list[tuple[tuple[int, ...], frozenset[int]]]


class Occurrences:
    """Which phrases (by leaf id) occur in one article, in which fields, and where.

    The field masks are exact and computed up front: candidate selection and most tests
    need nothing else. Positions of one-word phrases are found only when a node asks
    (NEAR, ATLEAST counts, the hits of a matched rule), from the words of each field.
    """

    __slots__ = ("_by_leaf", "_fields", "_where", "hits", "masks", "refs", "scanned")

    def __init__(self) -> None:
        self.masks: dict[int, int] = {}  # leaf id -> bit set of fields
        self._where: dict[int, list[Occurrence]] = {}
        # (field index, its words, the words some one-word phrase needs, and their infos);
        # the infos become leaf -> words of the field when a position is first asked for.
        self._fields: list[tuple[int, Scanned, Sequence[object], _Infos]] = []
        self._by_leaf: list[tuple[int, Scanned, dict[int, list[object]]]] | None = None
        self.scanned: dict[int, Scanned] = {}  # field index -> its words (and their spans)
        # Shared by every rule evaluated on this article, so each is computed once:
        self.refs: dict[CTerm, list[HitRef]] = {}  # a term's occurrences, as hit refs
        self.hits: dict[HitRef, Hit] = {}  # a hit ref's Hit (char offsets, text)

    def add(self, leaf: int, fi: int, start: int, end: int) -> None:
        """Record one occurrence (of a multi-word phrase: one-word ones are found lazily)."""
        masks = self.masks
        masks[leaf] = masks.get(leaf, 0) | (1 << fi)
        found = self._where.get(leaf)
        if found is None:
            self._where[leaf] = [(fi, start, end)]
        else:
            found.append((fi, start, end))

    def add_field(
        self,
        fi: int,
        scanned: Scanned,
        words: Sequence[object],
        infos: _Infos,
    ) -> None:
        """Field ``fi``: its distinct words that some phrase needs, and for each its info
        (first the leaves of the one-word phrases it satisfies). Sets those leaves' masks."""
        self.scanned[fi] = scanned
        self._fields.append((fi, scanned, words, infos))
        scanned.expect(words)
        leaves = set().union(*map(_LEAVES, infos))
        masks, bit = self.masks, 1 << fi
        if not masks:
            self.masks = dict.fromkeys(leaves, bit)
            return
        both = leaves & masks.keys()
        masks.update(dict.fromkeys(leaves - both, bit))
        for leaf in both:
            masks[leaf] |= bit

    def hit(self, ref: HitRef) -> Hit:
        """The :class:`Hit` of a ref: built once per article, shared by every rule."""
        found = self.hits.get(ref)
        if found is None:
            fi, first, after, term, set_name = ref
            scanned = self.scanned[fi]
            start, end = scanned.span(first)
            if after - first > 1:
                end = scanned.span(after - 1)[1]
            found = Hit(FIELDS[fi], start, end, scanned.text[start:end], term, set_name)
            self.hits[ref] = found
        return found

    def at(self, leaf: int) -> list[Occurrence]:
        """Every occurrence of the phrase, by field then position."""
        found = self._where.get(leaf)
        if found is None:
            found = []
            if leaf in self.masks:
                if self._by_leaf is None:
                    self._by_leaf = [(fi, s, _words_by_leaf(w, i)) for fi, s, w, i in self._fields]
                for fi, scanned, by_leaf in self._by_leaf:
                    spellings = by_leaf.get(leaf)
                    if spellings is None:
                        continue
                    if len(spellings) == 1:
                        starts = scanned.positions(spellings[0])
                    else:
                        starts = sorted(chain.from_iterable(map(scanned.positions, spellings)))
                    found += [(fi, i, i + 1) for i in starts]
            self._where[leaf] = found
        return found


def _words_by_leaf(words: Sequence[object], infos: _Infos) -> dict[int, list[object]]:
    """Leaf of a one-word phrase -> the words of one field that satisfy it."""
    out: dict[int, list[object]] = {}
    for word, info in zip(words, infos, strict=True):
        for leaf in info[0]:
            found = out.get(leaf)
            if found is None:
                out[leaf] = [word]
            else:
                found.append(word)
    return out


@dataclass(frozen=True, slots=True)
class ExplainNode:
    """One node of ``monitor explain``'s tree: what it is, whether it held, its parts."""

    label: str
    value: bool
    children: tuple[ExplainNode, ...] = ()
    hits: int = 0


class CNode:
    """A compiled query node."""

    __slots__ = ()
    label: str

    def test(self, occ: Occurrences) -> bool:
        raise NotImplementedError

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        """Add the hits of positive terms that make this (true) node true."""
        raise NotImplementedError

    def parts(self) -> tuple[CNode, ...]:
        return ()

    def explain(self, occ: Occurrences) -> ExplainNode:
        return ExplainNode(self.label, self.test(occ), tuple(p.explain(occ) for p in self.parts()))


class Positional(CNode):
    """A node made of phrases, so it has positions: terms, sets and OR-groups of them."""

    __slots__ = ()

    def occurrences(self, occ: Occurrences) -> list[HitRef]:
        raise NotImplementedError


class CTerm(Positional):
    __slots__ = ("fmask", "label", "leaf", "set_name", "text")

    def __init__(self, leaf: int, fmask: int, text: str, set_name: str | None, label: str) -> None:
        self.leaf = leaf
        self.fmask = fmask
        self.text = text  # the term or set entry as written: Hit.term
        self.set_name = set_name
        self.label = label

    def test(self, occ: Occurrences) -> bool:
        return bool(occ.masks.get(self.leaf, 0) & self.fmask)

    def occurrences(self, occ: Occurrences) -> list[HitRef]:
        """The term's hit refs (shared: callers must not change the list)."""
        found = occ.refs.get(self)
        if found is None:
            fmask, text, set_name = self.fmask, self.text, self.set_name
            found = [
                (fi, s, e, text, set_name) for fi, s, e in occ.at(self.leaf) if fmask >> fi & 1
            ]
            occ.refs[self] = found
        return found

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        out.extend(self.occurrences(occ))

    def explain(self, occ: Occurrences) -> ExplainNode:
        n = len(self.occurrences(occ))
        return ExplainNode(self.label, n > 0, hits=n)


class CSet(Positional):
    __slots__ = ("by_leaf", "everywhere", "label", "leaves", "terms")

    def __init__(self, terms: tuple[CTerm, ...], label: str) -> None:
        self.terms = terms
        self.leaves = frozenset(t.leaf for t in terms)
        self.by_leaf: dict[int, list[CTerm]] = {}
        for t in terms:
            self.by_leaf.setdefault(t.leaf, []).append(t)
        # Searched in every field: a phrase that occurs at all satisfies its term.
        self.everywhere = all(t.fmask == _EVERY_FIELD for t in terms)
        self.label = label

    def test(self, occ: Occurrences) -> bool:
        masks = occ.masks
        if masks.keys().isdisjoint(self.leaves):  # the common case, decided in C
            return False
        if self.everywhere:
            return True
        return any(masks[t.leaf] & t.fmask for t in self._present(masks))

    def _present(self, masks: dict[int, int]) -> list[CTerm]:
        """The terms whose phrase occurs (in any field), in set order."""
        by_leaf = self.by_leaf
        present = self.leaves & masks.keys()
        if len(present) == 1:
            return by_leaf[next(iter(present))]
        return [t for t in self.terms if t.leaf in present]

    def occurrences(self, occ: Occurrences) -> list[HitRef]:
        out: list[HitRef] = []
        masks = occ.masks
        for t in self._present(masks):
            if masks[t.leaf] & t.fmask:
                out.extend(t.occurrences(occ))
        return out

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        out.extend(self.occurrences(occ))

    def explain(self, occ: Occurrences) -> ExplainNode:
        kids = tuple(t.explain(occ) for t in self.terms if t.test(occ))
        return ExplainNode(self.label, bool(kids), kids, sum(k.hits for k in kids))


class COr(Positional):
    __slots__ = ("children", "label")

    def __init__(self, children: tuple[CNode, ...], label: str = "OR") -> None:
        self.children = children
        self.label = label

    def test(self, occ: Occurrences) -> bool:
        return any(c.test(occ) for c in self.children)

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        for c in self.children:
            if c.test(occ):
                c.collect(occ, out)

    def occurrences(self, occ: Occurrences) -> list[HitRef]:
        out: list[HitRef] = []
        for c in self.children:
            assert isinstance(c, Positional)
            out.extend(c.occurrences(occ))
        return out

    def parts(self) -> tuple[CNode, ...]:
        return self.children


class CAnd(CNode):
    __slots__ = ("children", "label", "order")

    def __init__(self, children: tuple[CNode, ...], order: tuple[CNode, ...]) -> None:
        self.children = children  # as written, for explain
        self.order = order  # cheapest and most selective first, for test
        self.label = "AND"

    def test(self, occ: Occurrences) -> bool:
        return all(c.test(occ) for c in self.order)

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        for c in self.children:
            c.collect(occ, out)

    def parts(self) -> tuple[CNode, ...]:
        return self.children


class CNot(CNode):
    __slots__ = ("child", "label")

    def __init__(self, child: CNode) -> None:
        self.child = child
        self.label = "NOT"

    def test(self, occ: Occurrences) -> bool:
        return not self.child.test(occ)

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        return None  # a negated term is never a hit

    def parts(self) -> tuple[CNode, ...]:
        return (self.child,)


class CField(CNode):
    """``title:(…)``: the restriction is already folded into the terms' field masks."""

    __slots__ = ("child", "label")

    def __init__(self, child: CNode, field_name: str) -> None:
        self.child = child
        self.label = field_name + ":"

    def test(self, occ: Occurrences) -> bool:
        return self.child.test(occ)

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        self.child.collect(occ, out)

    def parts(self) -> tuple[CNode, ...]:
        return (self.child,)


class CFieldPositional(Positional):
    __slots__ = ("child", "label")

    def __init__(self, child: Positional, field_name: str) -> None:
        self.child = child
        self.label = field_name + ":"

    def test(self, occ: Occurrences) -> bool:
        return self.child.test(occ)

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        self.child.collect(occ, out)

    def occurrences(self, occ: Occurrences) -> list[HitRef]:
        return self.child.occurrences(occ)

    def parts(self) -> tuple[CNode, ...]:
        return (self.child,)


def near_pairs(
    left: list[HitRef], right: list[HitRef], distance: int, ordered: bool
) -> tuple[list[HitRef], list[HitRef]]:
    """The occurrences of each side that have a partner on the other side.

    Partners are in the same field, do not overlap, and have at most ``distance``
    words between them; with ``ordered`` the left one comes first.
    """
    by_field: dict[int, list[HitRef]] = {}
    for r in right:
        by_field.setdefault(r[0], []).append(r)
    used_left: list[HitRef] = []
    used_right: dict[HitRef, None] = {}
    for group in by_field.values():
        group.sort(key=lambda h: h[1])
    starts = {fi: [r[1] for r in group] for fi, group in by_field.items()}
    longest = {fi: max(r[2] - r[1] for r in group) for fi, group in by_field.items()}
    for a in left:
        rs = by_field.get(a[0])
        if rs is None:
            continue
        st = starts[a[0]]
        found = False
        # b after a: a.end <= b.start <= a.end + distance
        lo, hi = bisect_left(st, a[2]), bisect_right(st, a[2] + distance)
        for b in rs[lo:hi]:
            used_right[b] = None
            found = True
        if not ordered:
            # b before a: b.end <= a.start and a.start - b.end <= distance
            lo = bisect_left(st, a[1] - distance - longest[a[0]])
            hi = bisect_right(st, a[1])
            for b in rs[lo:hi]:
                if b[2] <= a[1] and a[1] - b[2] <= distance:
                    used_right[b] = None
                    found = True
        if found:
            used_left.append(a)
    return used_left, list(used_right)


class CNear(CNode):
    __slots__ = ("distance", "label", "left", "ordered", "right")

    def __init__(self, left: Positional, right: Positional, distance: int, ordered: bool) -> None:
        self.left = left
        self.right = right
        self.distance = distance
        self.ordered = ordered
        self.label = f"{'ONEAR' if ordered else 'NEAR'}/{distance}"

    def _pairs(self, occ: Occurrences) -> tuple[list[HitRef], list[HitRef]]:
        return near_pairs(
            self.left.occurrences(occ), self.right.occurrences(occ), self.distance, self.ordered
        )

    def test(self, occ: Occurrences) -> bool:
        if not (self.left.test(occ) and self.right.test(occ)):
            return False
        return bool(self._pairs(occ)[0])

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        left, right = self._pairs(occ)
        out.extend(left)
        out.extend(right)

    def parts(self) -> tuple[CNode, ...]:
        return (self.left, self.right)


class CAtLeast(CNode):
    """``ATLEAST/n(a, b, …)``: at least n of the operands hold."""

    __slots__ = ("children", "label", "n")

    def __init__(self, n: int, children: tuple[CNode, ...]) -> None:
        self.n = n
        self.children = children
        self.label = f"ATLEAST/{n}"

    def test(self, occ: Occurrences) -> bool:
        need = self.n
        for c in self.children:
            if c.test(occ):
                need -= 1
                if need == 0:
                    return True
        return False

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        for c in self.children:
            if c.test(occ):
                c.collect(occ, out)

    def parts(self) -> tuple[CNode, ...]:
        return self.children


class CCount(CNode):
    """``ATLEAST/n(a)``: at least n distinct occurrences (spans) of a."""

    __slots__ = ("child", "label", "n")

    def __init__(self, n: int, child: Positional) -> None:
        self.n = n
        self.child = child
        self.label = f"ATLEAST/{n}"

    def test(self, occ: Occurrences) -> bool:
        if not self.child.test(occ):
            return False
        return len({h[:3] for h in self.child.occurrences(occ)}) >= self.n

    def collect(self, occ: Occurrences, out: list[HitRef]) -> None:
        self.child.collect(occ, out)

    def parts(self) -> tuple[CNode, ...]:
        return (self.child,)
