"""Per-feed polling state (validators, health, next poll) and which instance polls a feed now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, or_, select, update

from monitor.store.instances import live_instance_ids
from monitor.store.sql import insert_ignore
from monitor.store.tables import feeds


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
    lease_owner: str | None = None
    lease_until: datetime | None = None


def _state(row: RowMapping) -> FeedState:
    return FeedState(**{name: row[name] for name in FeedState.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class PollRecord:
    """The outcome of one poll, as the store keeps it."""

    now: datetime
    status: int | None
    ok: bool  # resets the failures; an error may come with success (a bozo feed)
    error: str | None
    next_poll_at: datetime
    interval_seconds: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    keep_validators: bool = False
    new_url: str | None = None
    new_articles: int = 0


class FeedRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, name: str) -> FeedState | None:
        row = self._conn.execute(select(feeds).where(feeds.c.name == name)).mappings().first()
        return _state(row) if row else None

    def all(self) -> list[FeedState]:
        rows = self._conn.execute(select(feeds).order_by(feeds.c.name)).mappings()
        return [_state(r) for r in rows]

    def ensure(self, name: str, configured_url: str) -> FeedState:
        """The feed's state, created on first sight; a URL edited in the config starts afresh."""
        insert_ignore(self._conn, feeds, {"name": name, "url": configured_url,
                                          "configured_url": configured_url})  # fmt: skip
        self._conn.execute(
            update(feeds)
            .where(feeds.c.name == name, feeds.c.configured_url != configured_url)
            .values(url=configured_url, configured_url=configured_url, etag=None,
                    last_modified=None, failures=0, next_poll_at=None)
        )  # fmt: skip
        state = self.get(name)
        assert state is not None
        return state

    def record_poll(self, name: str, r: PollRecord, *, owner: str | None = None) -> None:
        """Record one poll and release the feed's lease (when ``owner`` held it)."""
        c = feeds.c
        values: dict[str, object] = {
            "last_polled_at": r.now,
            "last_status": r.status,
            "next_poll_at": r.next_poll_at,
            "articles_seen": c.articles_seen + r.new_articles,
            "last_error": r.error,
            "failures": 0 if r.ok else c.failures + 1,
        }
        if r.interval_seconds is not None:
            values["interval_seconds"] = r.interval_seconds
        if r.new_url is not None:
            values["url"] = r.new_url
        if r.error is not None:
            values["last_error_at"] = r.now
        if r.ok:
            values["last_success_at"] = r.now
            if not r.keep_validators:
                values["etag"] = r.etag
                values["last_modified"] = r.last_modified
        if owner is not None:
            values["lease_owner"] = None
            values["lease_until"] = None
        stmt = update(feeds).where(c.name == name)
        if owner is not None:
            # A poll whose lease was taken over still records, but never frees another's claim.
            stmt = stmt.where(or_(c.lease_owner == owner, c.lease_owner.is_(None)))
        if self._conn.execute(stmt.values(**values)).rowcount == 0 and owner is not None:
            values.pop("lease_owner")
            values.pop("lease_until")
            self._conn.execute(update(feeds).where(c.name == name).values(**values))
        self._conn.execute(
            update(feeds)
            .where(c.name == name, c.first_polled_at.is_(None))
            .values(first_polled_at=r.now)
        )

    def claim_due(
        self,
        names: Sequence[str],
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        dead_after: timedelta,
        limit: int,
        force: bool = False,
    ) -> list[FeedState]:
        """Take up to ``limit`` of ``names`` whose poll time came and that no live instance holds.

        ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write lock serialises claims), so two
        instances claiming together get disjoint feeds; a claim of a dead instance is taken over.
        """
        if not names or limit <= 0:
            return []
        c = feeds.c
        free = or_(  # never a feed this owner is polling now, whatever its heartbeat says
            c.lease_owner.is_(None),
            c.lease_until <= now,
            (c.lease_owner != owner) & c.lease_owner.not_in(live_instance_ids(now, dead_after)),
        )
        due = or_(c.next_poll_at.is_(None), c.next_poll_at <= now)
        wanted = select(c.name).where(c.name.in_(list(names)), free)
        if not force:
            wanted = wanted.where(due)
        wanted = (
            wanted.order_by(c.next_poll_at.is_not(None), c.next_poll_at, c.name)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = self._conn.execute(
            update(feeds)
            .where(c.name.in_(wanted.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(*feeds.c)
        ).mappings()
        return sorted((_state(r) for r in claimed), key=lambda s: s.name)

    def renew_leases(self, owner: str, *, until: datetime) -> None:
        c = feeds.c
        self._conn.execute(update(feeds).where(c.lease_owner == owner).values(lease_until=until))

    def release_all(self, owner: str) -> None:
        c = feeds.c
        self._conn.execute(
            update(feeds).where(c.lease_owner == owner).values(lease_owner=None, lease_until=None)
        )
