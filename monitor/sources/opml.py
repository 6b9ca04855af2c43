"""Feed lists exported by other readers (OPML 1.0/2.0) → :class:`FeedConfig` entries.

Folders become tags: a feed inside ``Middle East / Gulf`` is tagged ``Middle
East`` and ``Gulf``, as is a feed with ``category="/Middle East/Gulf"``. The
same URL listed twice is one feed carrying both sets of tags.

Parsed with expat directly, refusing any entity declaration: OPML never needs
one, and refusing them rules out "billion laughs" and external-entity tricks
without a dependency.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from monitor.sources.config import FeedConfig
from monitor.sources.html_text import normalise_space


class OpmlError(ValueError):
    """The file is not a readable OPML document; the message names the file and the place."""


@dataclass
class _Feed:
    name: str
    url: str
    tags: list[str] = field(default_factory=list)


class _OutlineReader:
    def __init__(self) -> None:
        self.root: str | None = None
        self.feeds: dict[str, _Feed] = {}
        self._in_body = 0
        self._folders: list[str | None] = []  # one per open outline: its title if a folder

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = tag
        if tag == "body":
            self._in_body += 1
        elif tag == "outline" and self._in_body:
            url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
            label = normalise_space(attrs.get("title") or attrs.get("text") or "")
            if url:
                self._add(url, label, _category_tags(attrs.get("category", "")))
            self._folders.append(None if url else label or None)

    def end(self, tag: str) -> None:
        if tag == "body":
            self._in_body -= 1
        elif tag == "outline" and self._folders:
            self._folders.pop()

    def _add(self, url: str, label: str, categories: list[str]) -> None:
        tags = [t for t in self._folders if t] + categories
        feed = self.feeds.get(url)
        if feed is None:
            feed = self.feeds[url] = _Feed(name=label or _name_from_url(url), url=url)
        for tag in tags:
            if tag not in feed.tags:
                feed.tags.append(tag)


def read_opml(path: Path | str) -> list[FeedConfig]:
    """The feeds listed in an OPML file, in document order, with unique names."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OpmlError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    reader = _OutlineReader()
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.EntityDeclHandler = _refuse_entities
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        where = f"line {exc.lineno}, column {exc.offset + 1}"
        raise OpmlError(f"{path}: not well-formed XML at {where}: {_expat_message(exc)}") from exc
    except _EntityDeclared as exc:
        line = parser.CurrentLineNumber
        raise OpmlError(f"{path}: line {line}: entity declarations are not allowed") from exc
    if reader.root != "opml":
        raise OpmlError(f"{path}: not an OPML file (root element is <{reader.root}>)")
    feeds = list(reader.feeds.values())
    names = _unique_names(feeds)
    return [
        FeedConfig(name=name, url=feed.url, tags=feed.tags)
        for name, feed in zip(names, feeds, strict=True)
    ]


class _EntityDeclared(Exception):
    pass


def _refuse_entities(*_args: object) -> None:
    raise _EntityDeclared


def _expat_message(exc: xml.parsers.expat.ExpatError) -> str:
    return xml.parsers.expat.ErrorString(exc.code) if exc.code else str(exc)


def _category_tags(category: str) -> list[str]:
    """OPML 2.0 ``category``: comma-separated, each a plain word or a ``/``-separated path."""
    tags: list[str] = []
    for item in category.split(","):
        for part in item.split("/"):
            tag = normalise_space(part)
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def _name_from_url(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return host or url


def _unique_names(feeds: Iterable[_Feed]) -> list[str]:
    """ "Reuters", "Reuters (2)", ...: names are keys in the store and in the logs."""
    names: list[str] = []
    taken: set[str] = set()
    for feed in feeds:
        name, n = feed.name, 1
        while name in taken:
            n += 1
            name = f"{feed.name} ({n})"
        taken.add(name)
        names.append(name)
    return names
