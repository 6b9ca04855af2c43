"""The outbox: one row per (alert or digest) × channel, claimed, sent and marked by the worker.

A row is ``pending`` until claimed; ``sending`` while a worker holds its lease (the claim time
is the lease token, so a worker whose lease expired cannot mark a row another worker reclaimed);
then ``sent`` or ``dead``, or ``pending`` again with a later ``next_attempt_at``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.store.db import from_db_time, to_db_time

Status = Literal["pending", "sending", "sent", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "sending", "sent", "dead")


def outbox_id(kind: Literal["alert", "digest"], ref: str, channel: str) -> str:
    """Deterministic, so re-running the step that enqueues cannot duplicate a delivery."""
    return hashlib.sha256(f"{kind}\x00{ref}\x00{channel}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    channel: str
    status: Status
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    alert_id: str | None = None
    digest_id: str | None = None
    claimed_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    claim_token: str | None = None  # the raw claimed_at text, compared when marking


def _row(r: sqlite3.Row) -> OutboxRow:
    next_at = from_db_time(r["next_attempt_at"])
    created = from_db_time(r["created_at"])
    assert next_at is not None and created is not None
    return OutboxRow(
        id=r["id"],
        channel=r["channel"],
        status=r["status"],
        attempts=int(r["attempts"]),
        next_attempt_at=next_at,
        created_at=created,
        alert_id=r["alert_id"],
        digest_id=r["digest_id"],
        claimed_at=from_db_time(r["claimed_at"]),
        last_error=r["last_error"],
        sent_at=from_db_time(r["sent_at"]),
        claim_token=r["claimed_at"],
    )


def enqueue(
    conn: sqlite3.Connection,
    *,
    channel: str,
    now: datetime,
    alert_id: str | None = None,
    digest_id: str | None = None,
) -> tuple[str, bool]:
    """Write one delivery; returns its id and False when it already existed."""
    if (alert_id is None) == (digest_id is None):
        raise ValueError("an outbox row carries exactly one of alert_id and digest_id")
    row_id = (
        outbox_id("alert", alert_id, channel)
        if alert_id is not None
        else outbox_id("digest", digest_id or "", channel)
    )
    ts = to_db_time(now)
    cur = conn.execute(
        "INSERT INTO outbox (id, alert_id, digest_id, channel, status, attempts,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (row_id, alert_id, digest_id, channel, ts, ts),
    )
    return row_id, cur.rowcount == 1


def claim_due(
    conn: sqlite3.Connection, *, now: datetime, lease: timedelta, limit: int
) -> list[OutboxRow]:
    """Take up to ``limit`` due rows: pending ones whose time came, and expired leases.

    Each claim counts as an attempt, so a row that crashes its worker every time still ends dead.
    Call inside a write transaction so two workers cannot claim the same row.
    """
    ts = to_db_time(now)
    expired = to_db_time(now - lease)
    rows = conn.execute(
        "UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM outbox WHERE (status = 'pending' AND next_attempt_at <= ?)"
        " OR (status = 'sending' AND claimed_at <= ?) ORDER BY next_attempt_at, id LIMIT ?)"
        " RETURNING *",
        (ts, ts, expired, limit),
    ).fetchall()
    return sorted((_row(r) for r in rows), key=lambda r: (r.next_attempt_at, r.id))


def mark_sent(conn: sqlite3.Connection, row: OutboxRow, *, now: datetime) -> bool:
    """False when the lease was lost (another worker reclaimed the row)."""
    cur = conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL, claimed_at = NULL"
        " WHERE id = ? AND status = 'sending' AND claimed_at = ?",
        (to_db_time(now), row.id, row.claim_token),
    )
    return cur.rowcount == 1


def mark_retry(
    conn: sqlite3.Connection, row: OutboxRow, *, next_attempt_at: datetime, error: str
) -> bool:
    cur = conn.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?,"
        " claimed_at = NULL WHERE id = ? AND status = 'sending' AND claimed_at = ?",
        (to_db_time(next_attempt_at), error, row.id, row.claim_token),
    )
    return cur.rowcount == 1


def mark_dead(conn: sqlite3.Connection, row: OutboxRow, *, error: str) -> bool:
    cur = conn.execute(
        "UPDATE outbox SET status = 'dead', last_error = ?, claimed_at = NULL"
        " WHERE id = ? AND status = 'sending' AND claimed_at = ?",
        (error, row.id, row.claim_token),
    )
    return cur.rowcount == 1


def get(conn: sqlite3.Connection, row_id: str) -> OutboxRow | None:
    r = conn.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)).fetchone()
    return _row(r) if r is not None else None


def list_rows(
    conn: sqlite3.Connection, *, status: Status | None = None, limit: int = 50
) -> list[OutboxRow]:
    """Newest first, for ``monitor outbox list``."""
    if status is None:
        rows = conn.execute(
            "SELECT * FROM outbox ORDER BY created_at DESC, id LIMIT ?", (limit,)
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT * FROM outbox WHERE status = ? ORDER BY created_at DESC, id LIMIT ?",
            (status, limit),
        ).fetchall()
    return [_row(r) for r in rows]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    found: dict[str, int] = {s: 0 for s in STATUSES}
    for status, n in conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
        found[status] = int(n)
    return found


def requeue(conn: sqlite3.Connection, row_id: str, *, now: datetime) -> bool:
    """Make a dead (or waiting) row due now with a fresh attempt budget; sent rows stay sent."""
    cur = conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,"
        " claimed_at = NULL WHERE id = ? AND status IN ('dead', 'pending')",
        (to_db_time(now), row_id),
    )
    return cur.rowcount == 1


def requeue_dead(conn: sqlite3.Connection, *, now: datetime) -> int:
    cur = conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,"
        " claimed_at = NULL WHERE status = 'dead'",
        (to_db_time(now),),
    )
    return cur.rowcount


def last_immediate_alert_at(conn: sqlite3.Connection, rule_id: str) -> datetime | None:
    """When the rule last sent an alert straight to its channels (for its cooldown)."""
    row = conn.execute(
        "SELECT MAX(o.created_at) FROM outbox o JOIN alerts a ON a.id = o.alert_id"
        " WHERE a.rule_id = ?",
        (rule_id,),
    ).fetchone()
    return from_db_time(row[0]) if row is not None else None
