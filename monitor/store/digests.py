"""Alerts waiting for a digest (``digest_items``) and the digests made from them.

Held alerts — folded by storm protection or a rule's cooldown — wait here too, under the
name ``hold:RULE_ID`` with a ``due_at``; scheduled digests leave ``due_at`` empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from monitor.store.sql import insert_ignore
from monitor.store.tables import digest_items, digests
from monitor.store.types import time_to_text

HOLD_PREFIX = "hold:"


def hold_name(rule_id: str) -> str:
    return HOLD_PREFIX + rule_id


def digest_id(name: str, at: datetime) -> str:
    """Deterministic per (digest, fire time): running one fire time twice builds one digest."""
    return hashlib.sha256(f"{name}\x00{time_to_text(at)}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class DigestRow:
    id: str
    name: str
    created_at: datetime
    items: int


class DigestRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_item(
        self,
        *,
        digest: str,
        alert_id: str,
        now: datetime,
        due_at: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        return insert_ignore(
            self._conn,
            digest_items,
            {"digest": digest, "alert_id": alert_id, "created_at": now, "due_at": due_at,
             "reason": reason},
        )  # fmt: skip

    def pending_alert_ids(self, digest: str, *, until: datetime) -> list[str]:
        """Alerts queued for ``digest`` up to ``until`` and not yet in a digest, oldest first."""
        d = digest_items.c
        rows = self._conn.execute(
            select(d.alert_id)
            .where(d.digest == digest, d.digest_id.is_(None), d.created_at <= until)
            .order_by(d.created_at, d.alert_id)
        )
        return [r[0] for r in rows]

    def due_hold_groups(self, *, now: datetime) -> list[tuple[str, datetime]]:
        """Open hold groups whose release time has come: (name, due_at)."""
        d = digest_items.c
        due = func.min(d.due_at)
        rows = self._conn.execute(
            select(d.digest, due)
            .where(d.digest_id.is_(None), d.digest.like(HOLD_PREFIX + "%"))
            .group_by(d.digest)
            .having(due <= now)
            .order_by(due)
        )
        return [(str(name), at) for name, at in rows if isinstance(at, datetime)]

    def hold_reasons(self, digest_id_: str) -> list[str]:
        d = digest_items.c
        rows = self._conn.execute(
            select(d.reason)
            .distinct()
            .where(d.digest_id == digest_id_, d.reason.is_not(None))
            .order_by(d.reason)
        )
        return [r[0] for r in rows]

    def create(self, *, id: str, name: str, created_at: datetime, alert_ids: Sequence[str]) -> bool:
        """Record the digest and attach its items; False when this digest already existed."""
        if not insert_ignore(self._conn, digests, {"id": id, "name": name,
                                                   "created_at": created_at,
                                                   "items": len(alert_ids)}):  # fmt: skip
            return False
        d = digest_items.c
        if alert_ids:
            self._conn.execute(
                update(digest_items)
                .where(d.digest == name, d.alert_id.in_(list(alert_ids)), d.digest_id.is_(None))
                .values(digest_id=id)
            )
        return True

    def get(self, id: str) -> DigestRow | None:
        r = self._conn.execute(select(digests).where(digests.c.id == id)).mappings().first()
        if r is None:
            return None
        return DigestRow(id=r["id"], name=r["name"], created_at=r["created_at"], items=r["items"])

    def alert_ids(self, id: str) -> list[str]:
        d = digest_items.c
        rows = self._conn.execute(
            select(d.alert_id).where(d.digest_id == id).order_by(d.created_at, d.alert_id)
        )
        return [r[0] for r in rows]

    def pending_hold(self, digest: str) -> tuple[datetime, str] | None:
        """The open hold group of a rule: (release time, reason of its first item)."""
        d = digest_items.c
        row = self._conn.execute(
            select(d.due_at, d.reason)
            .where(d.digest == digest, d.digest_id.is_(None))
            .order_by(d.due_at, d.created_at)
            .limit(1)
        ).first()
        if row is None or row[0] is None:
            return None
        return row[0], str(row[1] or "held")

    def last_created(self, name: str) -> datetime | None:
        value = self._conn.execute(
            select(func.max(digests.c.created_at)).where(digests.c.name == name)
        ).scalar()
        return value if isinstance(value, datetime) else None

    def oldest_pending(self, digest: str) -> datetime | None:
        d = digest_items.c
        value = self._conn.execute(
            select(func.min(d.created_at)).where(d.digest == digest, d.digest_id.is_(None))
        ).scalar()
        return value if isinstance(value, datetime) else None
