"""Articles for the analyst tools: JSON Lines, RSS/Atom files and plain-text files.

Each source yields articles and, separately, clear per-line/per-file errors, so one
bad line is reported without losing the others.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from monitor.models import Article
from monitor.sources.parse import parse_feed

FEED_SUFFIXES = (".rss", ".atom", ".xml", ".rdf")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ArticleError:
    """An input that could not be turned into an article: where and why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def read_articles(source: str, stdin: TextIO | None = None) -> Iterator[Article | ArticleError]:
    """The articles of one source (a path, or ``-`` for JSON Lines on stdin)."""
    if source == "-":
        yield from _json_lines(stdin if stdin is not None else sys.stdin, "<stdin>")
        return
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield ArticleError(source, f"cannot read: {exc.strerror or exc}")
        return
    kind = _kind(path, data)
    if kind == "feed":
        yield from _feed(path, data)
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield ArticleError(source, f"not UTF-8 text ({exc.reason})")
        return
    if kind == "json":
        yield from _json_lines(text.splitlines(), source)
    else:
        yield _text_article(path, text)


def _kind(path: Path, data: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in FEED_SUFFIXES:
        return "feed"
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix == ".txt":
        return "text"
    head = data.lstrip()[:1]
    return "feed" if head == b"<" else "json" if head == b"{" else "text"


def _json_lines(lines: TextIO | list[str], name: str) -> Iterator[Article | ArticleError]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ArticleError(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield ArticleError(where, "each line must be a JSON object")
            continue
        try:
            yield article_from_json(obj)
        except ValueError as exc:
            yield ArticleError(where, str(exc))


def article_from_json(obj: dict[str, Any]) -> Article:
    """An article from one JSON object (``id`` required; ``title``, ``summary``, ``content``…)."""
    article_id = obj.get("id")
    if not isinstance(article_id, str | int) or isinstance(article_id, bool) or article_id == "":
        raise ValueError('missing "id" (a non-empty string)')
    texts: dict[str, str] = {}
    for key in ("title", "summary", "content", "feed", "link"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f'"{key}" must be a string')
        texts[key] = value or ""
    feed_tags = obj.get("feed_tags", [])
    if not isinstance(feed_tags, list) or not all(isinstance(t, str) for t in feed_tags):
        raise ValueError('"feed_tags" must be a list of strings')
    published = _EPOCH
    raw = obj.get("published")
    if raw is not None:
        try:
            published = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ValueError(f'"published" is not an ISO 8601 date: {raw!r}') from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
    return Article(
        id=str(article_id),
        feed=texts["feed"] or "-",
        feed_tags=tuple(feed_tags),
        title=texts["title"],
        link=texts["link"] or None,
        published=published,
        summary=texts["summary"],
        content=texts["content"],
    )


def _feed(path: Path, data: bytes) -> Iterator[Article | ArticleError]:
    parsed = parse_feed(
        data,
        feed_name=path.stem,
        url=path.resolve().as_uri(),
        headers={},
        fetched_at=datetime.now(UTC),
    )
    if parsed.error and not parsed.articles:
        yield ArticleError(str(path), parsed.error)
    yield from parsed.articles


def _text_article(path: Path, text: str) -> Article:
    """First non-empty line is the title, the rest the content."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    title = lines[first].strip() if first is not None else ""
    content = "\n".join(lines[first + 1 :]).strip() if first is not None else ""
    return Article(
        id=str(path), feed="-", title=title, link=None, published=_EPOCH, content=content
    )
