"""Reading and writing alerts (the outbox and digests are the notifiers' tables)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from monitor.models import Alert
from monitor.store.codec import (
    article_from_row,
    hits_from_json,
    hits_to_json,
    rule_from_json,
    rule_to_json,
)
from monitor.store.db import from_db_time, to_db_time


def insert_alert(conn: sqlite3.Connection, alert: Alert) -> bool:
    """Store the alert; False when this (rule, article) already had one."""
    cur = conn.execute(
        "INSERT INTO alerts (id, rule_id, article_id, rule_title, severity, rule, hits,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            alert.id,
            alert.rule.id,
            alert.article.id,
            alert.rule.title,
            alert.rule.severity,
            rule_to_json(alert.rule),
            hits_to_json(alert.hits),
            to_db_time(alert.created_at),
        ),
    )
    return cur.rowcount == 1


def load_alert(conn: sqlite3.Connection, alert_id: str) -> Alert | None:
    """The alert with its article and the other feeds that carried the article."""
    row = conn.execute(
        "SELECT a.id AS alert_id, a.rule, a.hits, a.created_at, ar.* "
        "FROM alerts a JOIN articles ar ON ar.id = a.article_id WHERE a.id = ?",
        (alert_id,),
    ).fetchone()
    if row is None:
        return None
    article = article_from_row(row)
    others = tuple(
        r[0]
        for r in conn.execute(
            "SELECT feed FROM article_sources WHERE article_id = ? AND feed <> ? ORDER BY seen_at",
            (article.id, article.feed),
        )
    )
    created = from_db_time(row["created_at"])
    assert created is not None
    return Alert(
        id=row["alert_id"],
        rule=rule_from_json(row["rule"]),
        article=article,
        hits=hits_from_json(row["hits"]),
        created_at=created,
        other_feeds=others,
    )


def recent_alerts(
    conn: sqlite3.Connection, *, limit: int = 20, since: datetime | None = None
) -> list[sqlite3.Row]:
    """Newest first, for ``monitor alerts list``."""
    return list(
        conn.execute(
            "SELECT a.id, a.rule_id, a.severity, a.created_at, ar.title, ar.feed, ar.link "
            "FROM alerts a JOIN articles ar ON ar.id = a.article_id "
            "WHERE a.created_at >= ? ORDER BY a.created_at DESC, a.id LIMIT ?",
            (to_db_time(since) if since else "", limit),
        )
    )
