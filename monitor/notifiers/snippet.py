"""The excerpt of an article shown in an alert: text around the hits, hits marked (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.models import Article, Hit
from monitor.notifiers.limits import ELLIPSIS, SNIPPET_MAX, TITLE_MAX

_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text; ``hit`` runs are highlighted (``<mark>`` in HTML, markers in text)."""

    text: str
    hit: bool = False


def _valid_spans(text: str, hits: Iterable[Hit]) -> list[tuple[int, int]]:
    """Spans that really cover their hit in ``text``; stale offsets are looked up again."""
    spans: list[tuple[int, int]] = []
    lowered = text.casefold()
    for h in hits:
        if 0 <= h.start < h.end <= len(text) and text[h.start : h.end].casefold() == (
            h.text.casefold()
        ):
            spans.append((h.start, h.end))
        elif h.text:
            found = lowered.find(h.text.casefold())
            if found >= 0 and len(h.text.casefold()) == len(h.text):
                spans.append((found, found + len(h.text)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _squash(text: str) -> str:
    """Line breaks and runs of blanks read as one space in an excerpt."""
    return _BLANKS.sub(" ", text)


def _word_start(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    space = text.rfind(" ", 0, pos)
    return space + 1 if space >= 0 and pos - space < 30 else pos


def _word_end(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    space = text.find(" ", pos)
    return space if space >= 0 and space - pos < 30 else pos


def segments(
    text: str, hits: Sequence[Hit], *, width: int = 320, context: int = 100
) -> tuple[Segment, ...]:
    """An excerpt of at most about ``width`` characters starting ``context`` before the first
    hit and holding as many hits as fit; cut on word boundaries, with ``…`` where text was cut.
    Without hits, the start of the text.
    """
    spans = _valid_spans(text, hits)
    if not spans:
        if len(text) <= width:
            return (Segment(_squash(text)),) if text.strip() else ()
        end = _word_end(text, width)
        return (Segment(_squash(text[:end]).rstrip() + " …"),)
    start = _word_start(text, max(0, spans[0][0] - context))
    end = _word_end(text, min(len(text), max(start + width, spans[0][1])))
    result: list[Segment] = []
    if start > 0:
        result.append(Segment("… "))
    pos = start
    for s, e in spans:
        if s >= end:
            break
        if s > pos:
            result.append(Segment(_squash(text[pos:s])))
        result.append(Segment(_squash(text[s:e]), hit=True))
        pos = e
    if pos < end:
        result.append(Segment(_squash(text[pos:end])))
    if end < len(text):
        result.append(Segment(" …"))
    return tuple(result)


def clip_segments(parts: Sequence[Segment], limit: int) -> tuple[Segment, ...]:
    """At most ``limit`` characters of text in all, the cut marked with ``…``."""
    if sum(len(p.text) for p in parts) <= limit:
        return tuple(parts)
    out: list[Segment] = []
    room = limit - len(ELLIPSIS)
    for part in parts:
        if room <= 0:
            break
        if len(part.text) > room:
            out.append(Segment(part.text[:room].rstrip(), part.hit))
            break
        out.append(part)
        room -= len(part.text)
    out.append(Segment(ELLIPSIS))
    return tuple(p for p in out if p.text)


def title_segments(article: Article, hits: Sequence[Hit]) -> tuple[Segment, ...]:
    """The title (at most TITLE_MAX characters) with its hits marked."""
    title = article.title if len(article.title) <= TITLE_MAX else article.title[: TITLE_MAX * 2]
    title_hits = [h for h in hits if h.field == "title"]
    parts = segments(title, title_hits, width=max(len(title), 1), context=10**6)
    return clip_segments(parts, TITLE_MAX)


def best_field(article: Article, hits: Sequence[Hit]) -> str:
    """The body field with the most hits (summary before content on a tie), for the excerpt."""
    counts = {f: sum(1 for h in hits if h.field == f) for f in ("summary", "content")}
    if counts["content"] > counts["summary"]:
        return "content"
    if counts["summary"] or article.summary:
        return "summary"
    return "content"


def excerpt(article: Article, hits: Sequence[Hit], *, width: int = 320) -> tuple[Segment, ...]:
    field = best_field(article, hits)
    parts = segments(article.text(field), [h for h in hits if h.field == field], width=width)
    return clip_segments(parts, SNIPPET_MAX)
