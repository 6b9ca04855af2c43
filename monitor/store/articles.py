"""Articles, the feeds that carried them, and which rules already matched them."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from monitor.models import Article, Hit
from monitor.store.codec import article_to_row, hits_to_json
from monitor.store.db import from_db_time, to_db_time


class Seen(enum.Enum):
    """What the store made of an incoming article."""

    NEW = "new"
    CHANGED = "changed"  # known article, different text: match again
    KNOWN = "known"  # nothing to do


def upsert_article(
    conn: sqlite3.Connection, article: Article, *, link_key: str | None, now: datetime
) -> tuple[Seen, str]:
    """Store an incoming article; returns what it was and the id it is stored under.

    The same story from another feed (same id, or same canonical link) is one article, carried by
    several feeds — it is not matched again.
    """
    row = conn.execute(
        "SELECT id, content_hash FROM articles WHERE id = ?", (article.id,)
    ).fetchone()
    if row is None and link_key:
        row = conn.execute(
            "SELECT id, content_hash FROM articles WHERE link_key = ? LIMIT 1", (link_key,)
        ).fetchone()
    ts = to_db_time(now)
    if row is None:
        values = article_to_row(article)
        values.update(link_key=link_key, first_seen_at=ts, last_seen_at=ts, updated_at=ts)
        columns = ", ".join(values)
        placeholders = ", ".join(f":{c}" for c in values)
        conn.execute(f"INSERT INTO articles ({columns}) VALUES ({placeholders})", values)
        _carried_by(conn, article.id, article.feed, ts)
        return Seen.NEW, article.id
    stored_id: str = row["id"]
    _carried_by(conn, stored_id, article.feed, ts)
    if row["content_hash"] == article.content_hash or article.feed != _origin_feed(conn, stored_id):
        conn.execute("UPDATE articles SET last_seen_at = ? WHERE id = ?", (ts, stored_id))
        return Seen.KNOWN, stored_id
    values = article_to_row(article)
    conn.execute(
        "UPDATE articles SET title = :title, link = :link, author = :author, tags = :tags,"
        " summary = :summary, content = :content, summary_html = :summary_html,"
        " content_html = :content_html, content_hash = :content_hash,"
        " last_seen_at = :now, updated_at = :now WHERE id = :stored_id",
        {**values, "now": ts, "stored_id": stored_id},
    )
    return Seen.CHANGED, stored_id


def _origin_feed(conn: sqlite3.Connection, article_id: str) -> str:
    row = conn.execute("SELECT feed FROM articles WHERE id = ?", (article_id,)).fetchone()
    return str(row[0])


def _carried_by(conn: sqlite3.Connection, article_id: str, feed: str, ts: str | None) -> None:
    conn.execute(
        "INSERT INTO article_sources (article_id, feed, seen_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (article_id, feed, ts),
    )


def matched_rules(conn: sqlite3.Connection, article_id: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute("SELECT rule_id FROM matches WHERE article_id = ?", (article_id,))
    }


def record_match(
    conn: sqlite3.Connection,
    *,
    rule_id: str,
    article_id: str,
    content_hash: str,
    hits: Iterable[Hit],
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO matches (rule_id, article_id, content_hash, matched_at, hits)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule_id, article_id) DO UPDATE SET"
        " content_hash = excluded.content_hash, matched_at = excluded.matched_at,"
        " hits = excluded.hits",
        (rule_id, article_id, content_hash, to_db_time(now), hits_to_json(hits)),
    )


def recent_publish_times(
    conn: sqlite3.Connection, feed: str, *, since: datetime, limit: int = 100
) -> list[datetime]:
    """Publication times of a feed's recent articles, for the adaptive polling policy."""
    times = []
    for (value,) in conn.execute(
        "SELECT published_at FROM articles WHERE feed = ? AND published_at >= ?"
        " ORDER BY published_at DESC LIMIT ?",
        (feed, to_db_time(since), limit),
    ):
        parsed = from_db_time(value)
        if parsed is not None:
            times.append(parsed)
    return times


def prune_articles(conn: sqlite3.Connection, *, before: datetime) -> int:
    """Forget articles no feed has carried since ``before``, unless a delivery still needs them."""
    cutoff = to_db_time(before)
    stale = (
        "SELECT ar.id FROM articles ar WHERE ar.last_seen_at < :cutoff AND NOT EXISTS ("
        " SELECT 1 FROM alerts al JOIN outbox o ON o.alert_id = al.id"
        " WHERE al.article_id = ar.id AND o.status <> 'sent') AND NOT EXISTS ("
        " SELECT 1 FROM alerts al JOIN digest_items d ON d.alert_id = al.id"
        " WHERE al.article_id = ar.id AND d.digest_id IS NULL)"
    )
    ids = [r[0] for r in conn.execute(stale, {"cutoff": cutoff})]
    for article_id in ids:
        alert_ids = [
            r[0] for r in conn.execute("SELECT id FROM alerts WHERE article_id = ?", (article_id,))
        ]
        for alert in alert_ids:
            conn.execute("DELETE FROM outbox WHERE alert_id = ?", (alert,))
            conn.execute("DELETE FROM digest_items WHERE alert_id = ?", (alert,))
        conn.execute("DELETE FROM alerts WHERE article_id = ?", (article_id,))
        conn.execute("DELETE FROM matches WHERE article_id = ?", (article_id,))
        conn.execute("DELETE FROM article_sources WHERE article_id = ?", (article_id,))
        conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))
    return len(ids)
