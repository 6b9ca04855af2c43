"""Stories: each a first article and the near-duplicates that joined it within the window.

The band keys of a story's signature are rows looked up by key and time, so that every
instance sharing the store finds the stories the others made; they are pruned once the
window has passed. Which article joins which story is decided by the caller under locks on
the band keys (:mod:`monitor.stories.folding`); the rows here only record it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, exists, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.store.sql import insert_ignore
from monitor.store.tables import alerts, article_sources, stories, story_articles, story_bands


class Candidate(NamedTuple):
    id: str
    signature: bytes
    created_at: datetime


def story_members(conn: Connection, article_ids: Sequence[str]) -> dict[str, list[str]]:
    """For each article of a story, every article of that story (itself included).

    Articles in no story are absent. Shared with the alerts, which list a story's sources.
    """
    if not article_ids:
        return {}
    mine = story_articles.alias("mine")
    other = story_articles.alias("other")
    rows = conn.execute(
        select(mine.c.article_id, other.c.article_id.label("member"))
        .join(other, other.c.story_id == mine.c.story_id)
        .where(mine.c.article_id.in_(list(article_ids)))
        .order_by(other.c.joined_at, other.c.article_id)
    )
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r.article_id, []).append(r.member)
    return found


# At most this many candidates per lookup, those sharing the most band keys first: formulaic
# stories (market reports, weather) sharing some bands cannot make one lookup unbounded.
MAX_CANDIDATES = 200

# Built once: the hot statements of placing an article, compiled and cached by SQLAlchemy.
_SHARED = (
    select(story_bands.c.story_id, func.count().label("shared"))
    .where(
        story_bands.c.band.in_(bindparam("bands", expanding=True)),
        story_bands.c.created_at >= bindparam("since"),
    )
    .group_by(story_bands.c.story_id)
    .order_by(func.count().desc(), story_bands.c.story_id)
    .limit(MAX_CANDIDATES)
    .subquery()
)
_CANDIDATES = (
    select(stories.c.id, stories.c.signature, stories.c.created_at)
    .join(_SHARED, _SHARED.c.story_id == stories.c.id)
    .order_by(_SHARED.c.shared.desc(), stories.c.created_at, stories.c.id)
)
_TOUCH = (
    update(stories).where(stories.c.id == bindparam("story")).values(updated_at=bindparam("now"))
)


class _Inserts(NamedTuple):
    story: Any
    band: Any
    member: Any


@cache
def _inserts(dialect: str) -> _Inserts:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    return _Inserts(
        *(insert(t).on_conflict_do_nothing() for t in (stories, story_bands, story_articles))
    )


class StoryRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def stories_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The story of each of these articles that is in one."""
        if not article_ids:
            return {}
        s = story_articles.c
        rows = self._conn.execute(
            select(s.article_id, s.story_id).where(s.article_id.in_(list(article_ids)))
        )
        return {r.article_id: r.story_id for r in rows}

    def candidates(self, bands: Iterable[int], *, since: datetime) -> list[Candidate]:
        """Stories first seen since ``since`` that share a band key, those sharing the most
        first (at most ``MAX_CANDIDATES``)."""
        rows = self._conn.execute(_CANDIDATES, {"bands": list(bands), "since": since})
        return [Candidate(r.id, bytes(r.signature), r.created_at) for r in rows]

    def create(
        self, *, article_id: str, signature: bytes, bands: Iterable[int], now: datetime
    ) -> str:
        """A story led by ``article_id`` (its id is the article's); idempotent."""
        ins = _inserts(self._conn.dialect.name)
        self._conn.execute(ins.story, {"id": article_id, "signature": signature,
                                       "created_at": now, "updated_at": now})  # fmt: skip
        self._conn.execute(
            ins.band, [{"band": b, "story_id": article_id, "created_at": now} for b in set(bands)]
        )
        self._conn.execute(ins.member, {"article_id": article_id, "story_id": article_id,
                                        "joined_at": now, "similarity": 1.0})  # fmt: skip
        return article_id

    def join(self, *, article_id: str, story_id: str, similarity: float, now: datetime) -> bool:
        """Record that the article belongs to the story; False when it already did."""
        joined = insert_ignore(self._conn, story_articles,
                               {"article_id": article_id, "story_id": story_id, "joined_at": now,
                                "similarity": similarity})  # fmt: skip
        if joined:
            self._conn.execute(_TOUCH, {"story": story_id, "now": now})
        return joined

    def feeds(self, story_id: str) -> list[str]:
        """Every feed that carried an article of the story, in the order they did."""
        return list(self.feeds_seen(story_id))

    def feeds_seen(self, story_id: str) -> dict[str, datetime]:
        """Every feed that carried an article of the story, with when it first did, in order."""
        s, m = article_sources.c, story_articles.c
        rows = self._conn.execute(
            select(s.feed, s.seen_at)
            .join(story_articles, m.article_id == s.article_id)
            .where(m.story_id == story_id)
            .order_by(s.seen_at, s.feed)
        )
        seen: dict[str, datetime] = {}
        for r in rows:
            seen.setdefault(r.feed, r.seen_at)
        return seen

    def alerted_rules(self, story_id: str) -> set[str]:
        """The rules that already raised an alert for an article of the story."""
        a, m = alerts.c, story_articles.c
        rows = self._conn.execute(
            select(a.rule_id)
            .join(story_articles, m.article_id == a.article_id)
            .where(m.story_id == story_id)
            .distinct()
        )
        return {r[0] for r in rows}

    def alert_ids(self, story_id: str) -> list[str]:
        """The alerts raised for articles of the story, oldest first."""
        a, m = alerts.c, story_articles.c
        rows = self._conn.execute(
            select(a.id)
            .join(story_articles, m.article_id == a.article_id)
            .where(m.story_id == story_id)
            .order_by(a.created_at, a.id)
        )
        return [r[0] for r in rows]

    def prune_bands(self, *, before: datetime, limit: int = 5000) -> int:
        """Forget up to ``limit`` band keys of stories first seen before ``before`` (out of
        the window: no copy can join them any more); bounded to keep the lock short."""
        b = story_bands.c
        old = select(b.band, b.story_id).where(b.created_at < before).limit(limit)
        return self._conn.execute(
            delete(story_bands).where(tuple_(b.band, b.story_id).in_(old))
        ).rowcount

    def prune_orphans(self, *, before: datetime, limit: int = 1000) -> int:
        """Forget stories out of the window whose articles were all pruned."""
        st, m = stories.c, story_articles.c
        ids = [
            r[0]
            for r in self._conn.execute(
                select(st.id)
                .where(st.created_at < before, ~exists().where(m.story_id == st.id))
                .limit(limit)
            )
        ]
        if ids:
            self._conn.execute(delete(stories).where(st.id.in_(ids)))
        return len(ids)
