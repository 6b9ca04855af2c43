"""Per-feed polling state: validators, health and the next poll time."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from monitor.store.db import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about a feed between polls and restarts."""

    name: str
    url: str  # where to poll: the configured URL, or where a permanent redirect pointed
    configured_url: str
    etag: str | None
    last_modified: str | None
    first_polled_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_error_at: datetime | None
    failures: int
    interval_seconds: int | None
    next_poll_at: datetime | None
    articles_seen: int


def _state(row: sqlite3.Row) -> FeedState:
    return FeedState(
        name=row["name"],
        url=row["url"],
        configured_url=row["configured_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        first_polled_at=from_db_time(row["first_polled_at"]),
        last_polled_at=from_db_time(row["last_polled_at"]),
        last_success_at=from_db_time(row["last_success_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        last_error_at=from_db_time(row["last_error_at"]),
        failures=row["failures"],
        interval_seconds=row["interval_seconds"],
        next_poll_at=from_db_time(row["next_poll_at"]),
        articles_seen=row["articles_seen"],
    )


def get_feed(conn: sqlite3.Connection, name: str) -> FeedState | None:
    row = conn.execute("SELECT * FROM feeds WHERE name = ?", (name,)).fetchone()
    return _state(row) if row else None


def list_feeds(conn: sqlite3.Connection) -> list[FeedState]:
    return [_state(r) for r in conn.execute("SELECT * FROM feeds ORDER BY name")]


def ensure_feed(conn: sqlite3.Connection, name: str, configured_url: str) -> FeedState:
    """The feed's state, created on first sight; a URL edited in the config starts afresh."""
    state = get_feed(conn, name)
    if state is None:
        conn.execute(
            "INSERT INTO feeds (name, url, configured_url) VALUES (?, ?, ?)",
            (name, configured_url, configured_url),
        )
    elif state.configured_url != configured_url:
        conn.execute(
            "UPDATE feeds SET url = ?, configured_url = ?, etag = NULL, last_modified = NULL,"
            " failures = 0 WHERE name = ?",
            (configured_url, configured_url, name),
        )
    else:
        return state
    new_state = get_feed(conn, name)
    assert new_state is not None
    return new_state


def record_poll(
    conn: sqlite3.Connection,
    name: str,
    *,
    now: datetime,
    status: int | None,
    ok: bool,
    error: str | None,
    next_poll_at: datetime,
    interval_seconds: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    keep_validators: bool = False,
    new_url: str | None = None,
    new_articles: int = 0,
) -> None:
    """Record one poll; ``ok`` resets the failures, and an error may come with success (bozo)."""
    validators = (
        "" if keep_validators or not ok else ", etag = :etag, last_modified = :last_modified"
    )
    conn.execute(
        "UPDATE feeds SET"
        " first_polled_at = COALESCE(first_polled_at, :now), last_polled_at = :now,"
        " last_status = :status, next_poll_at = :next_poll_at,"
        " interval_seconds = COALESCE(:interval, interval_seconds),"
        " articles_seen = articles_seen + :new_articles,"
        " url = COALESCE(:new_url, url),"
        " last_error = :error,"
        " last_error_at = CASE WHEN :error IS NULL THEN last_error_at ELSE :now END,"
        " last_success_at = CASE WHEN :ok THEN :now ELSE last_success_at END,"
        " failures = CASE WHEN :ok THEN 0 ELSE failures + 1 END"
        + validators
        + " WHERE name = :name",
        {
            "now": to_db_time(now),
            "status": status,
            "next_poll_at": to_db_time(next_poll_at),
            "interval": interval_seconds,
            "new_articles": new_articles,
            "new_url": new_url,
            "error": error,
            "ok": 1 if ok else 0,
            "etag": etag,
            "last_modified": last_modified,
            "name": name,
        },
    )
