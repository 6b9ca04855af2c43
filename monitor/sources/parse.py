"""Feed bytes → normalised :class:`~monitor.models.Article` objects (pure).

feedparser does the hard part (RSS 0.9x/1.0/2.0, Atom, encodings declared in
the HTTP headers or the document, ill-formed XML). This module turns its loose
dictionaries into articles the rule engine can trust: plain text for matching,
the original (feedparser-sanitised) HTML for display, UTC dates that are never
in the future, only http(s) links, and an id that is stable between polls.
"""

from __future__ import annotations

import html
import io
import time
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from monitor.models import Article
from monitor.sources.html_text import html_to_text, normalise_space
from monitor.sources.identity import article_id

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_UNTITLED_LENGTH = 100


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed. ``error`` with articles is a warning (ill-formed but usable);
    ``error`` without articles means nothing could be read."""

    articles: list[Article]
    title: str | None
    version: str | None
    error: str | None
    ttl_minutes: int | None
    encoding: str | None = None
    skipped: int = 0  # entries with no title, link or text


def parse_feed(
    body: bytes,
    *,
    feed_name: str,
    url: str,
    headers: Mapping[str, str],
    fetched_at: datetime,
) -> ParsedFeed:
    """Parse one fetched body; never raises for bad input (it shows up in ``error``).

    ``headers`` are the response headers (lower-case names): the charset in
    ``content-type`` can override the document's own declaration. ``url`` is
    where the body came from; relative links resolve against it.
    """
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware")
    fetched_at = fetched_at.astimezone(UTC)
    response_headers = {k.lower(): v for k, v in headers.items()}
    # Without a declared type (local files, careless servers) the document's own XML
    # declaration decides the encoding, as for any XML file.
    response_headers.setdefault("content-type", "application/xml")
    if _is_web_url(url):
        response_headers.setdefault("content-location", url)
    # A BytesIO, not the bytes: feedparser would try to open() bytes that look like a path.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    feed = result.get("feed", {})
    version = result.get("version") or None
    entries = result.get("entries", [])
    articles: list[Article] = []
    seen: set[str] = set()
    skipped = 0
    for entry in entries:
        article = _to_article(entry, feed_name=feed_name, feed_url=url, fetched_at=fetched_at)
        if article is None:
            skipped += 1
        elif article.id not in seen:  # a feed listing an entry twice yields it once
            seen.add(article.id)
            articles.append(article)
    return ParsedFeed(
        articles=articles,
        title=normalise_space(_text_of(feed, "title")) or None,
        version=version,
        error=_diagnose(body, result, version, entries, response_headers),
        ttl_minutes=_ttl(feed.get("ttl")),
        encoding=result.get("encoding") or None,
        skipped=skipped,
    )


def _diagnose(
    body: bytes,
    result: Mapping[str, Any],
    version: str | None,
    entries: list[Any],
    headers: Mapping[str, str],
) -> str | None:
    if not version and not entries:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in ("text/html", "application/xhtml+xml"):
            return f"not a feed: {content_type} page"
        if "html" in content_type or _looks_like_html(body, result):
            return "not a feed: HTML page"
        if result.get("bozo"):
            return f"not a feed: {_bozo_text(result.get('bozo_exception'))}"
        return "not a feed: no RSS or Atom content found"
    if result.get("bozo"):
        return _describe_bozo(result.get("bozo_exception"))
    return None


def _looks_like_html(body: bytes, result: Mapping[str, Any]) -> bool:
    """An HTML page served without a type (or as XML): a doctype or <html> near the start."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return True
    namespaces = result.get("namespaces") or {}
    return any("xhtml" in str(uri) for uri in namespaces.values())


def _describe_bozo(exc: object) -> str:
    """feedparser's reason, saying "ill-formed" for XML errors (its other reasons say it)."""
    if isinstance(exc, xml.sax.SAXException) or exc is None:
        return f"ill-formed feed: {_bozo_text(exc)}"
    return _bozo_text(exc)


def _bozo_text(exc: object) -> str:
    if exc is None:
        return "unknown XML error"
    if isinstance(exc, xml.sax.SAXParseException):
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        return f"{where}: {exc.getMessage()}"
    return str(exc).strip() or type(exc).__name__


def _ttl(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None


def _to_article(
    entry: Mapping[str, Any], *, feed_name: str, feed_url: str, fetched_at: datetime
) -> Article | None:
    link = _safe_link(entry.get("link"))
    summary_html, summary = _summary(entry)
    content_html, content = _content(entry)
    title = _title(entry)
    if not title:
        title = _untitled(summary or content) or (link or "")
    if not title and not link and not (summary or content):
        return None
    guid = entry.get("id") if isinstance(entry.get("id"), str) else None
    return Article(
        id=article_id(guid=guid, link=link, title=title, feed_url=feed_url),
        feed=feed_name,
        title=title,
        link=link,
        published=_published(entry, fetched_at),
        summary=summary,
        content=content,
        author=normalise_space(_text_of(entry, "author")) or None,
        tags=_tags(entry.get("tags")),
        summary_html=summary_html,
        content_html=content_html,
    )


def _title(entry: Mapping[str, Any]) -> str:
    raw = _text_of(entry, "title")
    detail = entry.get("title_detail") or {}
    if _is_html(detail.get("type")):
        return normalise_space(html_to_text(raw))
    return normalise_space(raw)


def _untitled(text: str) -> str:
    """A title for an entry that has none (allowed in RSS 2.0): its first line, shortened."""
    first = text.strip().split("\n", 1)[0]
    if len(first) <= _UNTITLED_LENGTH:
        return first
    return first[: _UNTITLED_LENGTH - 1].rsplit(" ", 1)[0] + "…"


def _summary(entry: Mapping[str, Any]) -> tuple[str, str]:
    detail = entry.get("summary_detail")
    if not isinstance(detail, Mapping):
        # feedparser copies Atom <content> into "summary" when there is no <summary>;
        # that copy is not a summary, and the content is kept as content.
        if entry.get("content"):
            return "", ""
        detail = {"type": "text/plain", "value": _text_of(entry, "summary")}
    return _html_and_text(detail)


def _content(entry: Mapping[str, Any]) -> tuple[str, str]:
    blocks = [b for b in entry.get("content") or () if isinstance(b, Mapping)]
    if not blocks:
        return "", ""
    # Several <content> elements are alternative renderings: prefer the HTML one.
    chosen = next((b for b in blocks if _is_html(b.get("type"))), blocks[0])
    return _html_and_text(chosen)


def _html_and_text(detail: Mapping[str, Any]) -> tuple[str, str]:
    value = detail.get("value")
    if not isinstance(value, str) or not value.strip():
        return "", ""
    if _is_html(detail.get("type")):
        return value, html_to_text(value)
    # Plain text has no HTML form: display code falls back to the text (escaping it).
    return "", html_to_text(html.escape(value, quote=False).replace("\n", "<br>"))


def _is_html(content_type: object) -> bool:
    return isinstance(content_type, str) and content_type.lower() in _HTML_TYPES


def _text_of(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def _safe_link(value: object) -> str | None:
    """Only http(s) links: a ``javascript:`` or ``data:`` link must never reach an alert."""
    if not isinstance(value, str):
        return None
    link = value.strip()
    return link if _is_web_url(link) and not any(c in link for c in "\r\n\t ") else None


def _is_web_url(value: str) -> bool:
    scheme, sep, rest = value.partition("://")
    return bool(sep) and bool(rest) and scheme.lower() in ("http", "https")


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=1)


def _published(entry: Mapping[str, Any], fetched_at: datetime) -> datetime:
    """The entry's date; unknown (the fetch time) when missing or outside a sane range.

    Generators emit "zero dates" (year 0001) and far-future typos; before 1970 or more than a
    day ahead is not a publication date. A date slightly ahead (clock skew) is clamped.
    """
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get would alias a missing key to another, with a warning.
        parsed = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if isinstance(parsed, time.struct_time):
            try:
                when = datetime(*parsed[:6], tzinfo=UTC)
            except (ValueError, OverflowError):
                continue
            if when < _EARLIEST or when > fetched_at + _FUTURE_SLACK:
                return fetched_at
            # A date in the future (clock skew) would pin the entry to the top.
            return min(when, fetched_at)
    return fetched_at


def _tags(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    tags: list[str] = []
    for tag in raw:
        if not isinstance(tag, Mapping):
            continue
        term = tag.get("term") or tag.get("label")
        if isinstance(term, str):
            name = normalise_space(html.unescape(term))
            if name and name not in tags:
                tags.append(name)
    return tuple(tags)
