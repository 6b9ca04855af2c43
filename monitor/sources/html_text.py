"""HTML fragments from feeds → plain text for matching and for plain-text alerts.

Rules match words, so markup must not split or glue them: entities are decoded,
block elements become line breaks (paragraphs a blank line), runs of spaces
collapse, and script/style bodies are dropped entirely.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Their text is never shown to a reader.
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "math"})
# A blank line before and after: separate paragraphs.
_PARAGRAPH = frozenset(
    {
        "p", "div", "section", "article", "aside", "header", "footer", "main", "nav",
        "blockquote", "pre", "figure", "figcaption", "table", "ul", "ol", "dl", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6", "address", "details", "summary", "form",
        "fieldset",
    }
)  # fmt: skip
# A line break before and after: lines within a paragraph.
_LINE = frozenset({"li", "tr", "dt", "dd", "caption", "option", "thead", "tbody", "tfoot"})
_CELL = frozenset({"td", "th"})
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr"})

# Placeholders that survive whitespace collapsing. Block boundaries are "soft": several in a
# row (</li><li>) are one break. <br> and newlines inside <pre> are "hard": each one counts.
_PARA_MARK = "\x00P"
_LINE_MARK = "\x00L"
_BREAK_MARK = "\x00B"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self._skip_depth += 1
            return
        self._boundary(tag)
        if tag == "pre":
            self._pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <p/>: a boundary but never an open element.
        if tag not in _SKIP:
            self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        if tag not in _VOID:
            self._boundary(tag)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        data = data.replace("\x00", "")  # reserved for the break marks
        if self._pre_depth:
            lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            self.parts.append(_BREAK_MARK.join(_collapse(line) for line in lines))
        else:
            self.parts.append(_collapse(data))

    def _boundary(self, tag: str) -> None:
        if tag in _PARAGRAPH:
            self.parts.append(_PARA_MARK)
        elif tag == "br":
            self.parts.append(_BREAK_MARK)
        elif tag in _LINE:
            self.parts.append(_LINE_MARK)
        elif tag in _CELL:
            self.parts.append(" ")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment (or of plain text: it passes through tidied)."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _layout("".join(parser.parts))


def normalise_space(text: str) -> str:
    """One line of text with single spaces: for titles, authors and tags."""
    return " ".join(_CONTROL.sub("", text).split())


def _collapse(data: str) -> str:
    """Runs of whitespace → one space, keeping a leading/trailing one (it separates words)."""
    core = " ".join(data.split())
    if not core:
        return " " if data else ""
    lead = " " if data[0].isspace() else ""
    trail = " " if data[-1].isspace() else ""
    return f"{lead}{core}{trail}"


def _layout(raw: str) -> str:
    # Each "\x00" starts a mark; marks separated only by spaces form one run of breaks.
    first, *marked = raw.split("\x00")
    parts = [first]
    run: list[str] = []
    for piece in marked:
        run.append(piece[:1])
        rest = piece[1:]
        if rest.strip():
            parts.append(_breaks(run))
            parts.append(rest)
            run = []
    text = _CONTROL.sub("", "".join(parts))
    out: list[str] = []
    blank = False
    for line in text.split("\n"):
        words = line.split()
        if not words:
            blank = True
            continue
        if blank and out:
            out.append("")
        out.append(" ".join(words))
        blank = False
    return "\n".join(out)


def _breaks(run: list[str]) -> str:
    if "P" in run or run.count("B") > 1:
        return "\n\n"
    return "\n"
