"""The query language: lexer and parser from a query string to a syntax tree.

Precedence is NOT > NEAR > AND > OR; adjacent operands are AND; ``a NOT b`` is
``a AND NOT b``. Every node keeps its character span in the query so errors and
``monitor explain`` can point at the exact place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple, Union

from monitor.models import FIELDS
from monitor.rules.terms import Phrase, TermError, parse_phrase

SET_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_OPERATOR_RE = re.compile(r"(NEAR|ONEAR|ATLEAST)(?:/(\S*))?")
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_BARE_STOP = set('()",{}') | {" ", "\t", "\n", "\r"}
# A bare chunk runs to the next stop character (one regex call instead of a loop per character).
_BARE_RE = re.compile("[^" + re.escape("".join(sorted(_BARE_STOP))) + "]*")
_SPACE_RE = re.compile(r"\s*")
_LOWER_OPERATORS = {"and", "or", "not", "near", "onear", "atleast"}
# Parentheses, NOT, fields and ATLEAST nest; the parser and the compiler recurse once per
# level, so an absurd depth would end in a RecursionError instead of an error message.
MAX_QUERY_DEPTH = 64


class QueryError(ValueError):
    """A query that cannot be compiled; ``start``/``end`` locate it in the query string."""

    def __init__(self, message: str, start: int, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end if end is not None else start + 1


@dataclass(frozen=True, slots=True)
class TermNode:
    phrase: Phrase
    text: str  # as written, quotes and braces included
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SetNode:
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class AndNode:
    children: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class OrNode:
    children: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class NotNode:
    child: Node
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class NearNode:
    left: Node
    right: Node
    distance: int
    ordered: bool
    start: int
    end: int
    op_start: int
    op_end: int


@dataclass(frozen=True, slots=True)
class AtLeastNode:
    n: int
    children: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FieldNode:
    field: str
    child: Node
    start: int
    end: int


Node = Union[TermNode, SetNode, AndNode, OrNode, NotNode, NearNode, AtLeastNode, FieldNode]  # noqa: UP007

TokenKind = Literal[
    "(", ")", ",", "AND", "OR", "NOT", "NEAR", "ONEAR", "ATLEAST", "FIELD", "TERM", "SET", "END"
]


class _Tok(NamedTuple):  # a named tuple: built many times per query, it must be cheap
    kind: TokenKind
    start: int
    end: int
    number: int = 0
    name: str = ""
    term: TermNode | None = None


@dataclass(frozen=True, slots=True)
class QueryWarning:
    message: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    root: Node
    warnings: tuple[QueryWarning, ...]


def parse_query(query: str) -> ParsedQuery:
    """Parse a query string; raises :class:`QueryError` at the first syntax error."""
    warnings: list[QueryWarning] = []
    tokens = _lex(query, warnings)
    if tokens[0].kind == "END":
        raise QueryError("empty query: write at least one term, e.g. drone*", 0, max(len(query), 1))
    parser = _Parser(query, tokens)
    root = parser.parse()
    return ParsedQuery(root, tuple(warnings))


def _lex(query: str, warnings: list[QueryWarning]) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isalnum():  # a bare chunk; most often a plain word, decided here
            j = _BARE_RE.match(query, i).end()  # type: ignore[union-attr]
            chunk = query[i:j]
            if chunk.isalnum() and chunk.lower() not in _LOWER_OPERATORS:
                toks.append(_term_token(query, i, j, i, j, exact=False))
                i = j
            else:
                i = _lex_bare(query, i, j, toks, warnings)
        elif c.isspace():
            i = _SPACE_RE.match(query, i).end()  # type: ignore[union-attr]
        elif c in "(),":
            toks.append(_Tok(c, i, i + 1))  # type: ignore[arg-type]
            i += 1
        elif c == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QueryError('unterminated phrase: add the closing "', i, n)
            toks.append(_term_token(query, i, close + 1, i + 1, close, exact=False))
            i = close + 1
        elif c == "{":
            close = query.find("}", i + 1)
            if close < 0:
                raise QueryError("unterminated {: add the closing }", i, n)
            inner_start, inner_end = i + 1, close
            inner = query[inner_start:inner_end]
            stripped = inner.strip()
            if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
                lead = inner.index('"')
                inner_start, inner_end = (
                    inner_start + lead + 1,
                    inner_start + lead + len(stripped) - 1,
                )
            toks.append(_term_token(query, i, close + 1, inner_start, inner_end, exact=True))
            i = close + 1
        elif c == "}":
            raise QueryError("} without a matching {", i)
        elif c == "@":
            m = SET_NAME_RE.match(query, i + 1)
            if m is None:
                raise QueryError("@ must be followed by a set name, as in @iran", i)
            toks.append(_Tok("SET", i, m.end(), name=m.group()))
            i = m.end()
        else:
            j = _BARE_RE.match(query, i).end()  # type: ignore[union-attr]
            i = _lex_bare(query, i, j, toks, warnings)
    toks.append(_Tok("END", n, n))
    return toks


def _lex_bare(query: str, i: int, j: int, toks: list[_Tok], warnings: list[QueryWarning]) -> int:
    """Lex one bare chunk query[i:j]; return where lexing continues."""
    chunk = query[i:j]
    if chunk in ("AND", "OR", "NOT"):
        toks.append(_Tok(chunk, i, j))  # type: ignore[arg-type]
        return j
    op = _OPERATOR_RE.fullmatch(chunk)
    if op is not None:
        name, arg = op.group(1), op.group(2)
        if arg is None or not arg.isdigit():
            example = "ATLEAST/2(a, b, c)" if name == "ATLEAST" else f"{name}/5"
            raise QueryError(f"{name} needs a number, as in {example}", i, j)
        toks.append(_Tok(name, i, j, number=int(arg)))  # type: ignore[arg-type]
        return j
    field = _FIELD_RE.match(chunk)
    if field is not None:
        name = field.group(1)
        if name.lower() not in FIELDS:
            raise QueryError(
                f"unknown field {name}: (fields are {', '.join(f + ':' for f in FIELDS)})",
                i,
                i + field.end(),
            )
        toks.append(_Tok("FIELD", i, i + field.end(), name=name.lower()))
        return i + field.end()
    if chunk.lower() in _LOWER_OPERATORS and chunk != chunk.upper():
        warnings.append(
            QueryWarning(
                f"{chunk!r} is searched as a word; operators are upper case ({chunk.upper()})",
                i,
                j,
            )
        )
    toks.append(_term_token(query, i, j, i, j, exact=False))
    return j


def _term_token(
    query: str, start: int, end: int, inner_start: int, inner_end: int, *, exact: bool
) -> _Tok:
    try:
        phrase = parse_phrase(query[inner_start:inner_end], exact=exact)
    except TermError as exc:
        raise QueryError(exc.message, inner_start + exc.offset, inner_start + exc.end) from None
    node = TermNode(phrase, query[start:end], start, end)
    return _Tok._make(("TERM", start, end, 0, "", node))


_OPERAND_START = {"(", "NOT", "ATLEAST", "FIELD", "TERM", "SET"}


class _Parser:
    def __init__(self, query: str, tokens: list[_Tok]) -> None:
        self.query = query
        self.toks = tokens
        self.i = 0
        self.depth = 0

    def deeper(self, tok: _Tok) -> None:
        """Enter one more level of nesting at ``tok``; refuse more than MAX_QUERY_DEPTH."""
        self.depth += 1
        if self.depth > MAX_QUERY_DEPTH:
            raise QueryError(
                f"the query is nested more than {MAX_QUERY_DEPTH} levels deep (parentheses,"
                " NOT, fields, ATLEAST): simplify it or split it into several rules",
                tok.start,
                tok.end,
            )

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.parse_or()
        tok = self.toks[self.i]
        if tok.kind == ")":
            raise QueryError("unbalanced parentheses: this ) has no matching (", tok.start)
        if tok.kind != "END":
            raise QueryError(f"unexpected {self._describe(tok)}", tok.start, tok.end)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.toks[self.i].kind == "OR":
            op = self.take()
            children.append(self._operand_after(op, self.parse_and))
        if len(children) == 1:
            return children[0]
        return OrNode(tuple(children), children[0].start, children[-1].end)

    def parse_and(self) -> Node:
        children = [self.parse_near()]
        while True:
            kind = self.toks[self.i].kind
            if kind == "AND":
                op = self.take()
                children.append(self._operand_after(op, self.parse_near))
            elif kind in _OPERAND_START:
                children.append(self.parse_near())
            else:
                break
        if len(children) == 1:
            return children[0]
        return AndNode(tuple(children), children[0].start, children[-1].end)

    def parse_near(self) -> Node:
        left = self.parse_unary()
        while self.toks[self.i].kind in ("NEAR", "ONEAR"):
            op = self.take()
            right = self._operand_after(op, self.parse_unary)
            if isinstance(left, NearNode):
                raise QueryError(
                    f"{op.kind} cannot be chained: write (a NEAR/n b) AND (b NEAR/n c)",
                    op.start,
                    op.end,
                )
            for side in (left, right):
                bad = _bad_near_operand(side)
                if bad is not None:
                    raise QueryError(
                        f"bad {op.kind} operand {self.query[bad.start : bad.end]!r}: operands of"
                        f" {op.kind} are words, phrases, prefixes, @sets or (… OR …) groups of"
                        " them",
                        bad.start,
                        bad.end,
                    )
            left = NearNode(
                left, right, op.number, op.kind == "ONEAR", left.start, right.end, op.start, op.end
            )
        return left

    def parse_unary(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "NOT":
            self.take()
            self.deeper(tok)
            child = self._operand_after(tok, self.parse_unary)
            self.depth -= 1
            return NotNode(child, tok.start, child.end)
        return self.parse_primary()

    def parse_primary(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "TERM":
            self.take()
            assert tok.term is not None
            return tok.term
        if tok.kind == "SET":
            self.take()
            return SetNode(tok.name, tok.start, tok.end)
        if tok.kind == "(":
            self.take()
            if self.toks[self.i].kind == ")":
                raise QueryError(
                    "empty parentheses: put a term inside ( )", tok.start, self.toks[self.i].end
                )
            self.deeper(tok)
            inner = self.parse_or()
            self.depth -= 1
            close = self.toks[self.i]
            if close.kind != ")":
                if close.kind == "END":
                    raise QueryError("unbalanced parentheses: this ( is never closed", tok.start)
                raise QueryError(
                    f"expected ) but found {self._describe(close)}", close.start, close.end
                )
            self.take()
            return inner
        if tok.kind == "FIELD":
            self.take()
            self.deeper(tok)
            child = self._operand_after(tok, self.parse_primary)
            self.depth -= 1
            if _contains_field(child):
                raise QueryError(
                    "a field restriction cannot contain another one", tok.start, tok.end
                )
            return FieldNode(tok.name, child, tok.start, child.end)
        if tok.kind == "ATLEAST":
            return self.parse_atleast()
        if tok.kind == "END":
            raise QueryError("the query ends where a term was expected", tok.start)
        if tok.kind == ")":
            raise QueryError("unbalanced parentheses: this ) has no matching (", tok.start)
        raise QueryError(f"{self._describe(tok)} needs a term before it", tok.start, tok.end)

    def parse_atleast(self) -> Node:
        op = self.take()
        paren = self.toks[self.i]
        if paren.kind != "(":
            raise QueryError(
                f"ATLEAST/{op.number} must be followed by a list in parentheses, as in"
                f" ATLEAST/{op.number}(a, b, c)",
                op.start,
                op.end,
            )
        self.take()
        self.deeper(op)
        children = [self.parse_or()]
        while self.toks[self.i].kind == ",":
            self.take()
            children.append(self.parse_or())
        self.depth -= 1
        close = self.toks[self.i]
        if close.kind != ")":
            if close.kind == "END":
                raise QueryError("unbalanced parentheses: this ( is never closed", paren.start)
            raise QueryError(
                f"expected , or ) in ATLEAST but found {self._describe(close)}",
                close.start,
                close.end,
            )
        self.take()
        if op.number < 1:
            raise QueryError("ATLEAST needs n of at least 1", op.start, op.end)
        if len(children) > 1 and op.number > len(children):
            raise QueryError(
                f"ATLEAST/{op.number} can never hold with only {len(children)} operands:"
                f" lower n or add operands",
                op.start,
                op.end,
            )
        if len(children) == 1:
            bad = _bad_near_operand(children[0])
            if bad is not None:
                raise QueryError(
                    "ATLEAST/n with one operand counts occurrences, so the operand must be a"
                    " word, phrase, prefix, @set or (… OR …) group of them",
                    bad.start,
                    bad.end,
                )
        return AtLeastNode(op.number, tuple(children), op.start, close.end)

    def _operand_after(self, op: _Tok, parse: Callable[[], Node]) -> Node:
        nxt = self.toks[self.i]
        if nxt.kind not in _OPERAND_START:
            label = self.query[op.start : op.end]
            where = "the end of the query" if nxt.kind == "END" else self._describe(nxt)
            raise QueryError(f"{label} needs a term after it, found {where}", op.start, op.end)
        return parse()

    def _describe(self, tok: _Tok) -> str:
        if tok.kind == "END":
            return "the end of the query"
        return repr(self.query[tok.start : tok.end])


def _bad_near_operand(node: Node) -> Node | None:
    """The first part of ``node`` that NEAR cannot take as an operand, or None."""
    if isinstance(node, TermNode | SetNode):
        return None
    if isinstance(node, OrNode):
        for child in node.children:
            bad = _bad_near_operand(child)
            if bad is not None:
                return bad
        return None
    if isinstance(node, FieldNode):
        return _bad_near_operand(node.child)
    return node


def _contains_field(node: Node) -> bool:
    if isinstance(node, FieldNode):
        return True
    return any(_contains_field(c) for c in children_of(node))


def children_of(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of a node, in query order."""
    if isinstance(node, AndNode | OrNode | AtLeastNode):
        return node.children
    if isinstance(node, NotNode | FieldNode):
        return (node.child,)
    if isinstance(node, NearNode):
        return (node.left, node.right)
    return ()
