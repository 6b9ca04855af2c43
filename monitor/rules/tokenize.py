"""Words as the rule language sees them, for article text and query terms alike.

A word is a run of Unicode letters and digits. Three refinements make news text
match the way analysts expect:

* a trailing possessive ``'s`` / ``’s`` is not part of the word ("Iran's" is ``Iran``);
* anything else separates words, so "Iran-backed" is ``Iran`` ``backed``;
* single letters joined by dots are one word without the dots ("U.S." is ``US``).

Matching compares either the *exact* form (dots removed, NFC) for ``{…}`` terms, or the
*folded* form (case-folded, accents stripped) for everything else. Both are pure
functions of the raw word, so callers can cache per raw word.

:data:`WORD_RE` is the definition. :func:`scan`, which every article goes through, gets
the same words several times faster for the common case, text whose letters and digits
are all ASCII (English news with curly quotes, dashes and currency signs included):
it splits bytes at a translation table in C and treats the two rare constructs (the
possessive and dotted acronyms) with regular expressions that start with a literal, so
the regex engine only runs where an apostrophe or a dot is.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import cast

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

# --- the split fast path (ASCII bytes) ---------------------------------------------------
_AW = b"[A-Za-z0-9]"
# Every byte that is not an ASCII letter or digit becomes a space, so split() finds the runs.
_RUNS = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
# A possessive right after a letter or digit is consumed, never a word: blank it out.
_POSSESSIVE = re.compile(rb"'(?<=" + _AW + rb"')[sS](?!" + _AW + rb")")
_POSSESSIVE_PAIR = re.compile(rb"'[sS]'[sS]")
# Where an acronym starts: ".X" (X a single letter) after a single-letter run. The match
# begins at the dot, one byte after the acronym, so the engine can search for the dot.
_ACRONYM_DOT = re.compile(rb"\.(?<!" + _AW + _AW + rb"\.)(?<=[A-Za-z]\.)[A-Za-z](?!" + _AW + rb")")
# A whole acronym from its first letter, with the possessive that may follow it.
_ACRONYM = re.compile(rb"([A-Za-z](?:\.[A-Za-z](?!" + _AW + rb"))+\.?)(?:'[sS](?!" + _AW + rb"))?")
# Non-ASCII characters, and which of them the word pattern treats as letters or digits.
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_UNICODE_WORD_CHAR = re.compile(_W)
_QUOTE = "’"


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its character span, as written, exact and folded forms."""

    start: int
    end: int
    raw: str
    exact: str
    folded: str


class Scanned:
    """The words of one text, and on request where some of them are.

    The matcher needs every word but the character spans of only the few that end up in
    hits, so spans are found one at a time from the prepared bytes (see :func:`scan`).
    """

    __slots__ = (
        "_acronyms",
        "_expected",
        "_offsets",
        "_padded",
        "_positions",
        "_spans",
        "text",
        "words",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self._acronyms: list[re.Match[bytes]] = []
        self._padded = b""  # " " + runs + " ": every plain word is a " word " in it
        self._spans: list[tuple[int, int]] | None = None
        self._positions: dict[object, list[int]] = {}
        self._expected: Iterable[object] = ()
        self._offsets: dict[bytes, list[int]] = {}
        self.words: list[str] | list[bytes]
        data = ascii_view(text)
        prepared = None if data is None else _prepare(data)
        if prepared is None:
            self.words = WORD_RE.findall(text) if data is None else ASCII_WORD_RE.findall(data)
            self._spans = spans(text)
            return
        runs, acronyms = prepared
        self._padded = b" " + runs + b" "
        self._acronyms = acronyms
        if not acronyms:
            self.words = runs.split()
            return
        words: list[bytes] = []
        pos = 0
        for m in acronyms:
            words += runs[pos : m.start()].split()
            words.append(m.group(1))
            pos = m.end()
        words += runs[pos:].split()
        self.words = words

    def positions(self, word: object) -> list[int]:
        """Indexes of ``word`` in :attr:`words`, remembered.

        One pass over the words finds every word asked for so far and the ones
        :meth:`expect` announced (finding a few words one by one with list.count and
        list.index measured slower on 5 KB articles, where about 16 words are asked for).
        """
        found = self._positions.get(word)
        if found is None:
            words = self.words
            table: dict[object, list[int]] = {w: [] for w in self._expected}
            table.update((w, []) for w in self._positions)
            table[word] = []
            get = table.get
            for i in compress(range(len(words)), map(table.__contains__, words)):
                get(words[i]).append(i)  # type: ignore[union-attr]
            self._positions = table
            found = table[word]
        return found

    def expect(self, words: Iterable[object]) -> None:
        """Words whose positions will likely be asked for (found in the same pass)."""
        self._expected = words

    def span(self, i: int) -> tuple[int, int]:
        """The character span of word ``i``."""
        if self._spans is not None:
            return self._spans[i]
        word = cast(bytes, self.words[i])
        nth = bisect_left(self.positions(word), i)  # the same word before it
        if b"." in word:  # only acronyms have dots
            m = [m for m in self._acronyms if m.group(1) == word][nth]
            return m.span(1)
        starts = self._offsets.get(word)
        if starts is None:
            # " word " in " runs ": as many times as the word occurs, in the same order.
            padded, needle = self._padded, b" " + word + b" "
            starts = []
            at = padded.find(needle)
            while at >= 0:
                starts.append(at)  # one byte of padding in front cancels the leading space
                at = padded.find(needle, at + len(word) + 1)
            self._offsets[word] = starts
        start = starts[nth]
        return start, start + len(word)


def scan(text: str) -> list[str] | list[bytes]:
    """The raw words of ``text``, in order.

    The same words as ``WORD_RE`` (as ``bytes`` when the text has an ASCII view);
    :func:`exact_form` and :func:`fold` accept both.
    """
    return Scanned(text).words


def ascii_view(text: str) -> bytes | None:
    """``text`` as ASCII bytes that tokenize the same, index for index, or None.

    Possible when every non-ASCII character separates words: each becomes ``?`` (still a
    separator, still one index), except ``’``, which becomes ``'`` since it can end a
    possessive. Text with a non-ASCII letter or digit (``café``) has no such view.
    """
    if text.isascii():
        return text.encode("ascii")
    if any(map(_is_word_char, set(_NON_ASCII.findall(text)))):
        return None
    if _QUOTE in text:
        text = text.replace(_QUOTE, "'")
    return text.encode("ascii", "replace")


@lru_cache(maxsize=4096)
def _is_word_char(c: str) -> bool:
    return _UNICODE_WORD_CHAR.match(c) is not None


def spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words :func:`scan` returns, index for index."""
    data = ascii_view(text)
    if data is None:
        return [m.span(1) for m in WORD_RE.finditer(text)]
    return [m.span(1) for m in ASCII_WORD_RE.finditer(data)]


def _prepare(data: bytes) -> tuple[bytes, list[re.Match[bytes]]] | None:
    """The plain runs of letters/digits of ``data`` (every other byte, acronyms included,
    made a space), and the acronyms (each with any possessive after it).

    Index-preserving. None when a possessive follows a possessive ("x's's"): only the
    regex knows which apostrophes it consumed.
    """
    if b"'" in data:
        if _POSSESSIVE_PAIR.search(data):
            return None
        data = _POSSESSIVE.sub(b"  ", data)
    dot = _ACRONYM_DOT.search(data)
    if dot is None:
        return data.translate(_RUNS), []
    acronyms: list[re.Match[bytes]] = []
    pieces: list[bytes] = []
    pos = 0
    while dot is not None:
        start = dot.start() - 1
        if start >= pos:  # else inside the acronym just taken ("U.S.A": the ".A")
            m = _ACRONYM.match(data, start)
            assert m is not None
            acronyms.append(m)
            pieces += (data[pos:start], b" " * (m.end() - start))
            pos = m.end()
        dot = _ACRONYM_DOT.search(data, max(pos, dot.end() - 1))
    pieces.append(data[pos:])
    return b"".join(pieces).translate(_RUNS), acronyms


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
