"""The outbox: one row per (alert or digest) × channel, claimed, sent and marked by a worker.

A row is ``pending`` until claimed; ``sending`` while an instance holds its lease (the claim
time and the instance are the lease token, so a worker whose lease was taken over cannot mark
a row another worker reclaimed); then ``sent`` or ``dead``, or ``pending`` again with a later
``next_attempt_at``. A lease ends when it runs out or at once when its instance's heartbeat
stops, so a crashed instance's deliveries do not wait for the lease.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, RowMapping, func, or_, select, update

from monitor.store.instances import live_instance_ids
from monitor.store.sql import insert_ignore
from monitor.store.tables import alerts, outbox

Status = Literal["pending", "sending", "sent", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "sending", "sent", "dead")


def outbox_id(kind: Literal["alert", "digest", "story"], ref: str, channel: str) -> str:
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
    claimed_by: str | None = None
    lease_until: datetime | None = None
    story_id: str | None = None  # set: a story update of alert_id


def _row(r: RowMapping) -> OutboxRow:
    return OutboxRow(**{name: r[name] for name in OutboxRow.__dataclass_fields__})


class OutboxRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def enqueue(
        self,
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
        inserted = self._insert(
            row_id,
            {"alert_id": alert_id, "digest_id": digest_id, "channel": channel,
             "next_attempt_at": now, "created_at": now},
        )  # fmt: skip
        return row_id, inserted

    def enqueue_story_update(
        self, *, story_id: str, alert_id: str, channel: str, slot: str, now: datetime,
        due: datetime,
    ) -> bool:  # fmt: skip
        """One update per (story, channel, time slot), however many outlets join in it:
        the id derives from them and the database keeps the first. False: already queued."""
        return self._insert(
            outbox_id("story", f"{story_id}\x00{slot}", channel),
            {"alert_id": alert_id, "story_id": story_id, "channel": channel,
             "next_attempt_at": due, "created_at": now},
        )  # fmt: skip

    def _insert(self, row_id: str, values: dict[str, object]) -> bool:
        """A pending delivery under its deterministic id; False when it already existed."""
        return insert_ignore(
            self._conn, outbox, {"id": row_id, "status": "pending", "attempts": 0, **values}
        )

    def sent_channels(self, alert_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(alert, channel) of each alert delivered (not a story update), oldest first."""
        if not alert_ids:
            return []
        c = outbox.c
        rows = self._conn.execute(
            select(c.alert_id, c.channel)
            .where(c.alert_id.in_(list(alert_ids)), c.story_id.is_(None), c.status == "sent")
            .order_by(c.created_at, c.id)
        )
        return [(r.alert_id, r.channel) for r in rows]

    def story_update_sent_at(self, story_id: str, channel: str) -> datetime | None:
        """When the story's last update was sent on the channel (None: never)."""
        c = outbox.c
        value = self._conn.execute(
            select(func.max(c.sent_at)).where(
                c.story_id == story_id, c.channel == channel, c.status == "sent"
            )
        ).scalar()
        return value if isinstance(value, datetime) else None

    def claim_due(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        dead_after: timedelta,
        limit: int,
        channels: Sequence[str] | None = None,
        exclude_channels: Sequence[str] | None = None,
    ) -> list[OutboxRow]:
        """Take up to ``limit`` due rows: pending ones whose time came, and lost leases.

        Each claim counts as an attempt, so a row that crashes its worker every time still ends
        dead. ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets instances claim side by side.
        """
        if limit <= 0:
            return []
        c = outbox.c
        lost = or_(  # never a row this owner is sending now, whatever its heartbeat says
            c.lease_until <= now,
            c.claimed_by.is_(None),
            (c.claimed_by != owner) & c.claimed_by.not_in(live_instance_ids(now, dead_after)),
        )
        due = or_(
            (c.status == "pending") & (c.next_attempt_at <= now),
            (c.status == "sending") & lost,
        )
        wanted = select(c.id).where(due)
        if channels is not None:
            wanted = wanted.where(c.channel.in_(list(channels)))
        if exclude_channels:
            wanted = wanted.where(c.channel.not_in(list(exclude_channels)))
        wanted = (
            wanted.order_by(c.next_attempt_at, c.id).limit(limit).with_for_update(skip_locked=True)
        )
        rows = self._conn.execute(
            update(outbox)
            .where(c.id.in_(wanted.scalar_subquery()))
            .values(status="sending", claimed_at=now, claimed_by=owner,
                    lease_until=now + lease, attempts=c.attempts + 1)
            .returning(*outbox.c)
        ).mappings()  # fmt: skip
        return sorted((_row(r) for r in rows), key=lambda r: (r.next_attempt_at, r.id))

    def mark_sent(self, row: OutboxRow, *, now: datetime) -> bool:
        """False when the lease was lost (another worker reclaimed the row)."""
        return self._mark(row, status="sent", sent_at=now, last_error=None)

    def mark_retry(self, row: OutboxRow, *, next_attempt_at: datetime, error: str) -> bool:
        return self._mark(row, status="pending", next_attempt_at=next_attempt_at, last_error=error)

    def mark_dead(self, row: OutboxRow, *, error: str) -> bool:
        return self._mark(row, status="dead", last_error=error)

    def release(self, row: OutboxRow) -> bool:
        """Give a claimed row back unsent (a stop cut the send short): due again at once,
        and the claim does not count as an attempt."""
        return self._mark(row, status="pending", attempts=outbox.c.attempts - 1)

    def _mark(self, row: OutboxRow, **values: object) -> bool:
        c = outbox.c
        stmt = (
            update(outbox)
            .where(
                c.id == row.id,
                c.status == "sending",
                c.claimed_at == row.claimed_at,
                c.claimed_by == row.claimed_by,
            )
            .values(claimed_at=None, claimed_by=None, lease_until=None, **values)
        )
        return self._conn.execute(stmt).rowcount == 1

    def renew_leases(self, owner: str, *, until: datetime) -> int:
        c = outbox.c
        return self._conn.execute(
            update(outbox)
            .where(c.claimed_by == owner, c.status == "sending")
            .values(lease_until=until)
        ).rowcount

    def release_all(self, owner: str) -> int:
        """At a clean stop: every row this instance still holds is due again now."""
        c = outbox.c
        return self._conn.execute(
            update(outbox)
            .where(c.claimed_by == owner, c.status == "sending")
            .values(status="pending", claimed_at=None, claimed_by=None, lease_until=None)
        ).rowcount

    def get(self, row_id: str) -> OutboxRow | None:
        r = self._conn.execute(select(outbox).where(outbox.c.id == row_id)).mappings().first()
        return _row(r) if r is not None else None

    def rows(self, *, status: Status | None = None, limit: int = 50) -> list[OutboxRow]:
        """Newest first, for ``monitor outbox list``."""
        stmt = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.id).limit(limit)
        if status is not None:
            stmt = stmt.where(outbox.c.status == status)
        return [_row(r) for r in self._conn.execute(stmt).mappings()]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {s: 0 for s in STATUSES}
        for status, n in self._conn.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status)
        ):
            found[status] = int(n)
        return found

    def held_by(self) -> dict[str, int]:
        """How many rows each instance holds now."""
        c = outbox.c
        rows = self._conn.execute(
            select(c.claimed_by, func.count())
            .where(c.status == "sending", c.claimed_by.is_not(None))
            .group_by(c.claimed_by)
        )
        return {r[0]: int(r[1]) for r in rows}

    def requeue(self, row_id: str, *, now: datetime) -> bool:
        """Make a dead (or waiting) row due now with a fresh attempt budget; sent rows stay sent."""
        c = outbox.c
        return (
            self._conn.execute(
                update(outbox)
                .where(c.id == row_id, c.status.in_(("dead", "pending")))
                .values(status="pending", attempts=0, next_attempt_at=now, claimed_at=None)
            ).rowcount
            == 1
        )

    def requeue_dead(self, *, now: datetime) -> int:
        c = outbox.c
        return self._conn.execute(
            update(outbox)
            .where(c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=now, claimed_at=None)
        ).rowcount

    def last_immediate_alert_at(self, rule_id: str) -> datetime | None:
        """When the rule last sent an alert straight to its channels (for its cooldown)."""
        value = self._conn.execute(
            select(func.max(outbox.c.created_at))
            .join(alerts, alerts.c.id == outbox.c.alert_id)
            .where(alerts.c.rule_id == rule_id, outbox.c.story_id.is_(None))
        ).scalar()
        return value if isinstance(value, datetime) else None
