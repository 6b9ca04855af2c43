"""Words as the rule language sees them, for article text and query terms alike.

A word is a run of Unicode letters and digits. Three refinements make news text
match the way analysts expect:

* a trailing possessive ``'s`` / ``’s`` is not part of the word ("Iran's" is ``Iran``);
* anything else separates words, so "Iran-backed" is ``Iran`` ``backed``;
* single letters joined by dots are one word without the dots ("U.S." is ``US``).

Matching compares either the *exact* form (dots removed, NFC) for ``{…}`` terms, or the
*folded* form (case-folded, accents stripped) for everything else. Both are pure
functions of the raw word, so callers can cache per raw word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_W = r"[^\W_]"  # a Unicode letter or digit
_L = r"[^\W\d_]"  # a Unicode letter
# A run of letters/digits; when the run is a single letter followed by ".X" (X a single
# letter), the run continues as an acronym ("U.S.", "e.g."), trailing dot included.
# The possessive is consumed outside the group so it never becomes a word of its own.
_PATTERN = r"({W}+(?:(?=\.)(?<!{W}{W})(?<={L})(?:\.{L}(?!{W}))+\.?)?)(?:{Q}[sS](?!{W}))?"
WORD_RE = re.compile(_PATTERN.format(W=_W, L=_L, Q="['’]"))
# The same words for pure-ASCII text, matched on bytes: about twice as fast in CPython.
# On ASCII input both patterns find the same words at the same indexes.
ASCII_WORD_RE = re.compile(_PATTERN.format(W="[A-Za-z0-9]", L="[A-Za-z]", Q="'").encode("ascii"))


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its character span, as written, exact and folded forms."""

    start: int
    end: int
    raw: str
    exact: str
    folded: str


def scan(text: str) -> list[str] | list[bytes]:
    """The raw words of ``text``, in order: the cheap path used by the matcher.

    Pure-ASCII text yields ``bytes`` words; :func:`exact_form` and :func:`fold` accept both.
    """
    if text.isascii():
        return ASCII_WORD_RE.findall(text.encode("ascii"))
    return WORD_RE.findall(text)


def spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words :func:`scan` returns, index for index."""
    if text.isascii():
        return [m.span(1) for m in ASCII_WORD_RE.finditer(text.encode("ascii"))]
    return [m.span(1) for m in WORD_RE.finditer(text)]


def tokenize(text: str) -> list[Token]:
    """Every word of ``text`` with its span and both comparison forms."""
    out: list[Token] = []
    for m in WORD_RE.finditer(text):
        raw = m.group(1)
        e = exact_form(raw)
        out.append(Token(m.start(1), m.end(1), raw, e, fold(e)))
    return out


@lru_cache(maxsize=65536)
def exact_form(raw: str | bytes) -> str:
    """The case- and accent-sensitive form of a raw word: acronym dots dropped, NFC."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii")
    word = raw.replace(".", "") if "." in raw else raw
    return word if word.isascii() else unicodedata.normalize("NFC", word)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """The case- and accent-insensitive form of a word (an exact form or a raw word)."""
    if "." in word:
        word = word.replace(".", "")
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)
