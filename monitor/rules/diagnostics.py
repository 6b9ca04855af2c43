"""Where something is in a rule file, and what is wrong or suspicious there."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem an analyst can act on, printed as ``path:line:column: message``."""

    path: str
    line: int
    column: int
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


@dataclass(frozen=True, slots=True)
class Located:
    """The place of a value in a rule file (1-based line and column).

    ``offsets`` maps each character of a scalar's *value* to its place in the file,
    so an error at character 22 of a quoted, escaped or folded query still points
    at the right column. Without it the value is taken to start at line:column.
    """

    path: str
    line: int = 1
    column: int = 1
    offsets: tuple[tuple[int, int], ...] = ()

    def at(self, offset: int) -> Located:
        """The place of the value's character ``offset``."""
        if self.offsets:
            line, column = self.offsets[max(0, min(offset, len(self.offsets) - 1))]
            if offset >= len(self.offsets):
                column += offset - len(self.offsets) + 1
            return Located(self.path, line, column)
        return Located(self.path, self.line, self.column + max(offset, 0))

    def error(self, message: str, offset: int = 0) -> Diagnostic:
        where = self.at(offset)
        return Diagnostic(self.path, where.line, where.column, message, "error")

    def warning(self, message: str, offset: int = 0) -> Diagnostic:
        where = self.at(offset)
        return Diagnostic(self.path, where.line, where.column, message, "warning")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


MEMORY = Located("<memory>")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` when a choice is close to ``word``, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
