"""The smallest units a query searches for: words, prefixes and phrases.

A query term and a set entry are both tokenized with the article tokenizer, so
``"U.S. forces"`` in a rule and "U.S. forces" in a story become the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from monitor.rules.tokenize import WORD_RE, exact_form, fold

MIN_PREFIX = 3


@dataclass(frozen=True, slots=True)
class WordPattern:
    """One word of a term: compared exactly or folded, whole or as a prefix."""

    text: str  # the exact form when ``exact``, else the folded form
    exact: bool = False
    prefix: bool = False
    # Patterns and phrases are dictionary keys throughout compilation: hash them once.
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.text, self.exact, self.prefix)))

    def __hash__(self) -> int:
        return self._hash

    def matches(self, raw_word: str) -> bool:
        """Whether an article word (as written) satisfies this pattern."""
        form = exact_form(raw_word) if self.exact else fold(raw_word)
        return form.startswith(self.text) if self.prefix else form == self.text

    def __str__(self) -> str:
        return self.text + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words; a single word is a phrase of one."""

    words: tuple[WordPattern, ...]
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(self.words))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        text = " ".join(str(w) for w in self.words)
        return "{" + text + "}" if self.words[0].exact else text


class TermError(ValueError):
    """A term that cannot be searched; ``offset`` is where in the term text it goes wrong."""

    def __init__(self, message: str, offset: int = 0, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.end = end if end is not None else offset + 1


@lru_cache(maxsize=65536)
def parse_phrase(text: str, *, exact: bool = False) -> Phrase:
    """Turn a term as written (``attack*``, ``Revolutionary Guard*``) into a :class:`Phrase`.

    Cached: large rule sets repeat the same names and topics many times.
    """
    words: list[WordPattern] = []
    pos = 0
    for m in WORD_RE.finditer(text):
        _check_no_stray_star(text, pos, m.start())
        raw = m.group(1)
        end = m.end()
        prefix = end < len(text) and text[end] == "*"
        if not prefix and m.end(1) < len(text) and text[m.end(1)] == "*":
            prefix, end = True, m.end(1)
        form = exact_form(raw) if exact else fold(raw)
        if prefix:
            if len(form) < MIN_PREFIX:
                raise TermError(
                    f"prefix {raw}* is too short: write at least {MIN_PREFIX} letters before *",
                    m.start(1),
                    end + 1,
                )
            end += 1
        words.append(WordPattern(form, exact=exact, prefix=prefix))
        pos = end
    _check_no_stray_star(text, pos, len(text))
    if not words:
        raise TermError(
            f"term {text.strip()!r} has no letters or digits to search for", 0, max(len(text), 1)
        )
    return Phrase(tuple(words))


def _check_no_stray_star(text: str, start: int, end: int) -> None:
    star = text.find("*", start, end)
    if star >= 0:
        raise TermError(
            "* must end a word of at least 3 letters, as in attack* (it cannot stand alone"
            " or start a word)",
            star,
        )
