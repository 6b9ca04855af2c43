"""A straightforward reference evaluation of parsed queries, for the property tests.

It shares only the tokenizer and parser with the engine: no index, trie, anchors
or caches. Every phrase is searched by trying every position of every field.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.models import FIELDS, Article
from monitor.rules.compiler import entry_phrase
from monitor.rules.query import (
    AndNode,
    AtLeastNode,
    FieldNode,
    NearNode,
    Node,
    NotNode,
    OrNode,
    SetNode,
    TermNode,
    parse_query,
)
from monitor.rules.terms import Phrase
from monitor.rules.tokenize import Token, tokenize

# (field, first token, token after last, term, set name)
Occ = tuple[str, int, int, str, str | None]
HitKey = tuple[str, int, int, str, str | None]


class Reference:
    def __init__(
        self, article: Article, sets: Mapping[str, tuple[str, ...]], fields: tuple[str, ...]
    ):
        self.tokens: dict[str, list[Token]] = {f: tokenize(article.text(f)) for f in FIELDS}
        self.sets = sets
        self.fields = fields

    def phrase_occurrences(
        self, phrase: Phrase, term: str, set_name: str | None, fields: tuple[str, ...]
    ) -> list[Occ]:
        out: list[Occ] = []
        k = len(phrase.words)
        for f in fields:
            toks = self.tokens[f]
            for i in range(len(toks) - k + 1):
                if all(w.matches(toks[i + j].raw) for j, w in enumerate(phrase.words)):
                    out.append((f, i, i + k, term, set_name))
        return out

    def occurrences(self, node: Node, fields: tuple[str, ...]) -> list[Occ]:
        if isinstance(node, TermNode):
            return self.phrase_occurrences(node.phrase, node.text, None, fields)
        if isinstance(node, SetNode):
            out: list[Occ] = []
            for entry in self.sets[node.name]:
                out.extend(self.phrase_occurrences(entry_phrase(entry), entry, node.name, fields))
            return out
        if isinstance(node, FieldNode):
            return self.occurrences(node.child, tuple(f for f in fields if f == node.field))
        assert isinstance(node, OrNode)
        return [o for c in node.children for o in self.occurrences(c, fields)]

    def near(self, node: NearNode, fields: tuple[str, ...]) -> list[Occ]:
        left = self.occurrences(node.left, fields)
        right = self.occurrences(node.right, fields)
        used: list[Occ] = []
        for a in left:
            for b in right:
                if a[0] != b[0]:
                    continue
                after = a[2] <= b[1] and b[1] - a[2] <= node.distance
                before = b[2] <= a[1] and a[1] - b[2] <= node.distance
                if after or (before and not node.ordered):
                    used.extend((a, b))
        return used

    def value(self, node: Node, fields: tuple[str, ...]) -> bool:
        if isinstance(node, TermNode | SetNode):
            return bool(self.occurrences(node, fields))
        if isinstance(node, FieldNode):
            return self.value(node.child, tuple(f for f in fields if f == node.field))
        if isinstance(node, NotNode):
            return not self.value(node.child, fields)
        if isinstance(node, AndNode):
            return all(self.value(c, fields) for c in node.children)
        if isinstance(node, OrNode):
            return any(self.value(c, fields) for c in node.children)
        if isinstance(node, NearNode):
            return bool(self.near(node, fields))
        assert isinstance(node, AtLeastNode)
        if len(node.children) == 1:
            spans = {o[:3] for o in self.occurrences(node.children[0], fields)}
            return len(spans) >= node.n
        return sum(self.value(c, fields) for c in node.children) >= node.n

    def hits(self, node: Node, fields: tuple[str, ...]) -> set[Occ]:
        """The hits that make a true node true (same rule as the engine's)."""
        if not self.value(node, fields):
            return set()
        if isinstance(node, TermNode | SetNode):
            return set(self.occurrences(node, fields))
        if isinstance(node, FieldNode):
            return self.hits(node.child, tuple(f for f in fields if f == node.field))
        if isinstance(node, NotNode):
            return set()
        if isinstance(node, NearNode):
            return set(self.near(node, fields))
        if isinstance(node, AtLeastNode) and len(node.children) == 1:
            return set(self.occurrences(node.children[0], fields))
        assert isinstance(node, AndNode | OrNode | AtLeastNode)
        out: set[Occ] = set()
        for c in node.children:
            out |= self.hits(c, fields)
        return out

    def match(self, query: str) -> set[HitKey] | None:
        """None when the query does not match, else its hits as char spans."""
        root = parse_query(query).root
        if not self.value(root, self.fields):
            return None
        out: set[HitKey] = set()
        for f, s, e, term, set_name in self.hits(root, self.fields):
            toks = self.tokens[f]
            out.add((f, toks[s].start, toks[e - 1].end, term, set_name))
        return out
