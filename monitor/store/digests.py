"""Alerts waiting for a digest (``digest_items``) and the digests made from them.

Held alerts — folded by storm protection or a rule's cooldown — wait here too, under the
name ``hold:RULE_ID`` with a ``due_at``; scheduled digests leave ``due_at`` empty.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.store.db import from_db_time, to_db_time

HOLD_PREFIX = "hold:"


def hold_name(rule_id: str) -> str:
    return HOLD_PREFIX + rule_id


def digest_id(name: str, at: datetime) -> str:
    """Deterministic per (digest, fire time): running one fire time twice builds one digest."""
    return hashlib.sha256(f"{name}\x00{to_db_time(at)}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class DigestRow:
    id: str
    name: str
    created_at: datetime
    items: int


def add_item(
    conn: sqlite3.Connection,
    *,
    digest: str,
    alert_id: str,
    now: datetime,
    due_at: datetime | None = None,
    reason: str | None = None,
) -> bool:
    cur = conn.execute(
        "INSERT INTO digest_items (digest, alert_id, created_at, due_at, reason)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (digest, alert_id, to_db_time(now), to_db_time(due_at), reason),
    )
    return cur.rowcount == 1


def pending_alert_ids(conn: sqlite3.Connection, digest: str, *, until: datetime) -> list[str]:
    """Alerts queued for ``digest`` up to ``until`` and not yet in a digest, oldest first."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT alert_id FROM digest_items WHERE digest = ? AND digest_id IS NULL"
            " AND created_at <= ? ORDER BY created_at, alert_id",
            (digest, to_db_time(until)),
        )
    ]


def due_hold_groups(conn: sqlite3.Connection, *, now: datetime) -> list[tuple[str, datetime]]:
    """Open hold groups whose release time has come: (name, due_at)."""
    rows = conn.execute(
        "SELECT digest, MIN(due_at) FROM digest_items WHERE digest_id IS NULL"
        " AND digest LIKE ? GROUP BY digest HAVING MIN(due_at) <= ? ORDER BY MIN(due_at)",
        (HOLD_PREFIX + "%", to_db_time(now)),
    ).fetchall()
    result = []
    for name, due in rows:
        due_at = from_db_time(due)
        assert due_at is not None
        result.append((str(name), due_at))
    return result


def hold_reasons(conn: sqlite3.Connection, digest_id_: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT reason FROM digest_items WHERE digest_id = ? AND reason IS NOT NULL"
            " ORDER BY reason",
            (digest_id_,),
        )
    ]


def create_digest(
    conn: sqlite3.Connection,
    *,
    id: str,
    name: str,
    created_at: datetime,
    alert_ids: Sequence[str],
) -> bool:
    """Record the digest and attach its items; False when this digest already existed."""
    cur = conn.execute(
        "INSERT INTO digests (id, name, created_at, items) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (id, name, to_db_time(created_at), len(alert_ids)),
    )
    if cur.rowcount != 1:
        return False
    conn.executemany(
        "UPDATE digest_items SET digest_id = ? WHERE digest = ? AND alert_id = ?"
        " AND digest_id IS NULL",
        [(id, name, a) for a in alert_ids],
    )
    return True


def get_digest(conn: sqlite3.Connection, id: str) -> DigestRow | None:
    r = conn.execute("SELECT * FROM digests WHERE id = ?", (id,)).fetchone()
    if r is None:
        return None
    created = from_db_time(r["created_at"])
    assert created is not None
    return DigestRow(id=r["id"], name=r["name"], created_at=created, items=int(r["items"]))


def digest_alert_ids(conn: sqlite3.Connection, id: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT alert_id FROM digest_items WHERE digest_id = ? ORDER BY created_at, alert_id",
            (id,),
        )
    ]


def pending_hold(conn: sqlite3.Connection, digest: str) -> tuple[datetime, str] | None:
    """The open hold group of a rule: (release time, reason of its first item)."""
    row = conn.execute(
        "SELECT due_at, reason FROM digest_items WHERE digest = ? AND digest_id IS NULL"
        " ORDER BY due_at, created_at LIMIT 1",
        (digest,),
    ).fetchone()
    if row is None:
        return None
    due = from_db_time(row[0])
    assert due is not None
    return due, str(row[1] or "held")


def rule_alerts_since(
    conn: sqlite3.Connection, rule_id: str, *, since: datetime, exclude: str
) -> int:
    """Alerts of one rule created after ``since`` (storm protection), not counting ``exclude``."""
    row = conn.execute(
        "SELECT COUNT(*) FROM alerts WHERE rule_id = ? AND created_at > ? AND id <> ?",
        (rule_id, to_db_time(since), exclude),
    ).fetchone()
    return int(row[0])
