"""Articles, the feeds that carried them, and which rules already matched them.

Identity is the database's: an article is inserted under its key or found there, never
decided by a read followed by a write. The entry's own id wins; a canonical link joins two
entries only when the incoming one has no id of its own (its key is the link) or both are
plainly the same story (same title), so stories that merely share a link — five items all
linking to a front page — stay five. A feed never rewrites or hides another feed's article:
a different story arriving under an id another feed already uses is kept under an id scoped
to its own feed.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, exists, literal, select, tuple_, update

from monitor.models import Article, Hit
from monitor.store.codec import article_to_row, hits_to_json
from monitor.store.sql import insert_ignore, upsert
from monitor.store.tables import (
    alerts,
    article_sources,
    articles,
    digest_items,
    matches,
    outbox,
    story_articles,
    surge_matches,
    surges,
)


class Seen(enum.Enum):
    """What the store made of an incoming article."""

    NEW = "new"
    CHANGED = "changed"  # known article, different text: match again
    KNOWN = "known"  # nothing to do


class Stored(NamedTuple):
    seen: Seen
    id: str  # the id the article is stored under
    new_source: bool  # this feed had not carried the article before (the database decided)


def _same_story(a_title: str, b_title: str) -> bool:
    return " ".join(a_title.split()).casefold() == " ".join(b_title.split()).casefold()


def feed_scoped_id(feed: str, article_id: str) -> str:
    return "feed:" + hashlib.sha256(f"{feed}\x00{article_id}".encode()).hexdigest()[:40]


class ArticleRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def upsert(self, article: Article, *, link_key: str | None, now: datetime) -> Stored:
        """Store an incoming article; says whether it is new, changed or known, its id, and
        whether its feed newly carries it (a known article from another feed: the same guid,
        or the same canonical link and title). The last is the insert of the (article, feed)
        row itself, ON CONFLICT DO NOTHING: of two instances recording the same feed, one is
        told it is new."""
        conn = self._conn
        c = articles.c
        stored = conn.execute(
            select(c.id, c.feed, c.title, c.link_key, c.content_hash).where(c.id == article.id)
        ).first()
        if stored is not None and stored.feed != article.feed:
            same = stored.content_hash == article.content_hash or _same_story(
                stored.title, article.title
            )
            if not same:  # another feed's different story under the same id
                scoped = feed_scoped_id(article.feed, article.id)
                stored = conn.execute(
                    select(c.id, c.feed, c.title, c.link_key, c.content_hash).where(c.id == scoped)
                ).first()
                article = replace(article, id=scoped)
        if stored is None and link_key:
            no_own_id = article.id == link_key
            for cand in conn.execute(
                select(c.id, c.feed, c.title, c.link_key, c.content_hash)
                .where(c.link_key == link_key).order_by(c.first_seen_at).limit(20)
            ):  # fmt: skip
                if no_own_id or _same_story(cand.title, article.title):
                    stored = cand
                    break
        if stored is None:
            values = article_to_row(article)
            values.update(link_key=link_key, first_seen_at=now, last_seen_at=now, updated_at=now)
            if insert_ignore(conn, articles, values):
                return Stored(Seen.NEW, article.id, self._carried_by(article.id, article.feed, now))
            # Inserted meanwhile by another instance: the same id, handled as known below.
            stored = conn.execute(
                select(c.id, c.feed, c.title, c.link_key, c.content_hash).where(c.id == article.id)
            ).one()
        stored_id: str = stored.id
        new_source = self._carried_by(stored_id, article.feed, now)
        if stored.content_hash == article.content_hash or article.feed != stored.feed:
            conn.execute(update(articles).where(c.id == stored_id).values(last_seen_at=now))
            return Stored(Seen.KNOWN, stored_id, new_source)
        values = article_to_row(article)
        for key in ("id", "feed", "published_at"):
            values.pop(key)
        conn.execute(
            update(articles)
            .where(c.id == stored_id)
            .values(**values, last_seen_at=now, updated_at=now)
        )
        return Stored(Seen.CHANGED, stored_id, new_source)

    def _carried_by(self, article_id: str, feed: str, now: datetime) -> bool:
        """Record that the feed carried the article; True when it had not before."""
        return insert_ignore(self._conn, article_sources,
                             {"article_id": article_id, "feed": feed, "seen_at": now})  # fmt: skip

    def matched_rules(self, article_id: str) -> set[str]:
        rows = self._conn.execute(
            select(matches.c.rule_id).where(matches.c.article_id == article_id)
        )
        return {r[0] for r in rows}

    def record_match(
        self,
        *,
        rule_id: str,
        article_id: str,
        content_hash: str,
        hits: Iterable[Hit],
        now: datetime,
    ) -> None:
        upsert(
            self._conn,
            matches,
            {"rule_id": rule_id, "article_id": article_id, "content_hash": content_hash,
             "matched_at": now, "hits": hits_to_json(hits)},
            key=("rule_id", "article_id"),
            update=("content_hash", "matched_at", "hits"),
        )  # fmt: skip

    def recent_publish_times(
        self, feed: str, *, since: datetime, limit: int = 100
    ) -> list[datetime]:
        """Publication times of a feed's recent articles, for the adaptive polling policy."""
        c = articles.c
        rows = self._conn.execute(
            select(c.published_at)
            .where(c.feed == feed, c.published_at >= since)
            .order_by(c.published_at.desc())
            .limit(limit)
        )
        return [r[0] for r in rows]

    def sources_of(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """Every feed that carried each of these articles, in the order they did (one
        statement for a backtest's page)."""
        if not article_ids:
            return {}
        s = article_sources.c
        rows = self._conn.execute(
            select(s.article_id, s.feed)
            .where(s.article_id.in_(list(article_ids)))
            .order_by(s.seen_at, s.feed)
        )
        found: dict[str, list[str]] = {}
        for r in rows:
            found.setdefault(r.article_id, []).append(r.feed)
        return found

    def page(self, *, since: datetime, after: tuple[datetime, str] | None, limit: int
             ) -> list[Article]:  # fmt: skip
        """Articles published since ``since``, oldest first, ``limit`` after the key ``after``
        (published, id): a backtest reads the store page by page, each in a short read.

        Only what matching and a sample line need: the HTML, author and tags columns stay
        unread (the HTML is most of a stored article)."""
        c = articles.c
        stmt = select(c.id, c.feed, c.title, c.link, c.published_at, c.summary, c.content,
                      c.feed_tags).where(c.published_at >= since)  # fmt: skip
        if after is not None:  # a row-value comparison: one range of the index, not a scan
            stmt = stmt.where(tuple_(c.published_at, c.id) > tuple_(
                literal(after[0], c.published_at.type), literal(after[1], c.id.type)))  # fmt: skip
        stmt = stmt.order_by(c.published_at, c.id).limit(limit)
        return [
            Article(id=r.id, feed=r.feed, title=r.title, link=r.link, published=r.published_at,
                    summary=r.summary, content=r.content,
                    feed_tags=tuple(json.loads(r.feed_tags)) if r.feed_tags != "[]" else ())
            for r in self._conn.execute(stmt)
        ]  # fmt: skip

    def prune(self, *, before: datetime, limit: int = 1000) -> int:
        """Forget up to ``limit`` articles no feed carried since ``before``, unless a delivery
        still needs them; bounded so one call never holds the write lock for long."""
        conn = self._conn
        ar = articles.c
        waiting_send = (
            select(alerts.c.id)
            .join(outbox, outbox.c.alert_id == alerts.c.id)
            .where(alerts.c.article_id == ar.id, outbox.c.status != "sent")
        )
        waiting_digest = (
            select(alerts.c.id)
            .join(digest_items, digest_items.c.alert_id == alerts.c.id)
            .where(alerts.c.article_id == ar.id, digest_items.c.digest_id.is_(None))
        )
        ids = [
            r[0]
            for r in conn.execute(
                select(ar.id)
                .where(ar.last_seen_at < before, ~exists(waiting_send), ~exists(waiting_digest))
                .limit(limit)
            )
        ]
        if not ids:
            return 0
        alert_ids = select(alerts.c.id).where(alerts.c.article_id.in_(ids))
        conn.execute(delete(outbox).where(outbox.c.alert_id.in_(alert_ids)))
        conn.execute(delete(digest_items).where(digest_items.c.alert_id.in_(alert_ids)))
        conn.execute(delete(surges).where(surges.c.alert_id.in_(alert_ids)))
        conn.execute(delete(alerts).where(alerts.c.article_id.in_(ids)))
        conn.execute(delete(matches).where(matches.c.article_id.in_(ids)))
        conn.execute(delete(surge_matches).where(surge_matches.c.article_id.in_(ids)))
        conn.execute(delete(article_sources).where(article_sources.c.article_id.in_(ids)))
        conn.execute(delete(story_articles).where(story_articles.c.article_id.in_(ids)))
        conn.execute(delete(articles).where(ar.id.in_(ids)))
        return len(ids)
