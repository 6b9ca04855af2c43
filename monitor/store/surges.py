"""Surge rules in the store: each rule's state, its matches by published time, each surge's list.

The state is written as a compare-and-set on ``version`` (and created with INSERT … ON
CONFLICT DO NOTHING): callers decide under the rule's lock, and a decision taken on a state
that another instance changed meanwhile is refused by the database rather than stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, literal, select, tuple_, update

from monitor.models import Article, Hit, SurgeDetail
from monitor.store.codec import article_from_row, hits_from_json
from monitor.store.errors import StoreBusy
from monitor.store.sql import insert_ignore, insert_select_ignore
from monitor.store.tables import (
    article_sources,
    articles,
    matches,
    surge_matches,
    surge_state,
    surges,
)
from monitor.surges import Member, Source, SurgeState


@dataclass(frozen=True, slots=True)
class StoredState:
    """A rule's surge state as read, with the version a write must still find."""

    state: SurgeState
    version: int  # 0: no row yet


class SurgeCount(NamedTuple):
    """What a surge alert counted (``alerts list``)."""

    feeds: int
    articles: int


class SurgeStateConflict(StoreBusy):
    """Another unit of work changed the rule's surge state meanwhile: run this one again."""


class SurgeRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def state(self, rule_id: str) -> StoredState:
        s = surge_state.c
        row = self._conn.execute(
            select(s.firing, s.since, s.version).where(s.rule_id == rule_id)
        ).first()
        if row is None:
            return StoredState(SurgeState(), 0)
        return StoredState(SurgeState(bool(row.firing), row.since), int(row.version))

    def save(self, rule_id: str, before: StoredState, after: SurgeState, now: datetime) -> None:
        """Store ``after`` if the state is still ``before``; else :class:`SurgeStateConflict`.

        The first save creates the row even unchanged: the rule has a state from then on.
        """
        if after == before.state and before.version:
            return
        values = {"firing": int(after.firing), "since": after.since, "updated_at": now}
        if before.version == 0:
            done = insert_ignore(
                self._conn, surge_state, {"rule_id": rule_id, "version": 1, **values}
            )
        else:
            s = surge_state.c
            result = self._conn.execute(
                update(surge_state)
                .where(s.rule_id == rule_id, s.version == before.version)
                .values(version=before.version + 1, **values)
            )
            done = result.rowcount == 1
        if not done:
            raise SurgeStateConflict(f"the surge state of rule {rule_id} changed meanwhile")

    def add_members(self, rule_id: str, sources: Iterable[Source]) -> list[Member]:
        """Count these (article, feed) among the rule's members: stored articles, each from
        a feed that carried it; the members this call added, with the published time as
        stored (an edited article keeps its first). A member already counted — the same
        article and feed — is not added again, and not returned."""
        wanted = [tuple(x) for x in set(sources)]
        if not wanted:
            return []
        a, s = articles.c, article_sources.c
        rows = insert_select_ignore(
            self._conn,
            surge_matches,
            ("rule_id", "article_id", "feed", "published_at"),
            select(literal(rule_id), s.article_id, s.feed, a.published_at)
            .join(articles, a.id == s.article_id)
            .where(tuple_(s.article_id, s.feed).in_(wanted)),
            returning=("article_id", "feed", "published_at"),
        )
        return [Member(r.article_id, r.feed, r.published_at) for r in rows]

    def seed_members(
        self, rule_id: str, *, after: datetime, until: datetime, every_source: bool = True
    ) -> None:
        """Count the rule's recorded matches published in ``(after, until]``: for a rule that
        has just been given ``surge:``, its matches from before count as well (read once,
        through ``matches``, before the rule has a state). Each counts once per feed that
        carried it — ``every_source`` False: for the feed it was stored from only (a rule
        limited to some feeds, whose copies in other feeds were never matched)."""
        a, m, s = articles.c, matches.c, article_sources.c
        feed = s.feed if every_source else a.feed
        query = select(literal(rule_id), a.id, feed, a.published_at).join(
            matches, m.article_id == a.id
        )
        if every_source:
            query = query.join(article_sources, s.article_id == a.id)
        insert_select_ignore(
            self._conn,
            surge_matches,
            ("rule_id", "article_id", "feed", "published_at"),
            query.where(m.rule_id == rule_id, a.published_at > after, a.published_at <= until),
        )

    def members(self, rule_id: str, *, after: datetime, until: datetime) -> list[Member]:
        """The rule's members published in ``(after, until]`` (one index range): an article
        several feeds carried is a member per feed."""
        sm = surge_matches.c
        rows = self._conn.execute(
            select(sm.article_id, sm.feed, sm.published_at).where(
                sm.rule_id == rule_id, sm.published_at > after, sm.published_at <= until
            )
        )
        return [Member(r.article_id, r.feed, r.published_at) for r in rows]

    def hits(self, rule_id: str, article_id: str) -> tuple[Hit, ...]:
        """The hits the rule recorded for the article (its match)."""
        m = matches.c
        text = self._conn.execute(
            select(m.hits).where(m.rule_id == rule_id, m.article_id == article_id)
        ).scalar()
        return hits_from_json(text) if text else ()

    def articles(self, ids: Sequence[str]) -> list[Article]:
        """The stored articles of ``ids``, in that order (ids no longer stored are left out)."""
        if not ids:
            return []
        rows = self._conn.execute(select(articles).where(articles.c.id.in_(list(ids))))
        found = {r["id"]: article_from_row(dict(r)) for r in rows.mappings()}
        return [found[i] for i in ids if i in found]

    def record(
        self,
        *,
        alert_id: str,
        rule_id: str,
        start: datetime,
        feeds: Sequence[str],
        article_ids: Sequence[str],
        total: int,
    ) -> None:
        insert_ignore(
            self._conn,
            surges,
            {"alert_id": alert_id, "rule_id": rule_id, "started_at": start,
             "feeds": json.dumps(list(feeds), ensure_ascii=False),
             "article_ids": json.dumps(list(article_ids)), "total": total},
        )  # fmt: skip

    def detail(self, alert_id: str) -> SurgeDetail | None:
        """What the surge alert ``alert_id`` lists; None when it is not a surge alert."""
        s = surges.c
        row = self._conn.execute(
            select(s.started_at, s.feeds, s.article_ids, s.total).where(s.alert_id == alert_id)
        ).first()
        if row is None:
            return None
        return SurgeDetail(
            start=row.started_at,
            feeds=tuple(json.loads(row.feeds)),
            articles=tuple(self.articles(json.loads(row.article_ids))),
            total=int(row.total),
        )

    def counts(self, alert_ids: Sequence[str]) -> dict[str, SurgeCount]:
        """(feeds, articles) of each surge alert among ``alert_ids`` (``alerts list``)."""
        if not alert_ids:
            return {}
        s = surges.c
        rows = self._conn.execute(
            select(s.alert_id, s.feeds, s.total).where(s.alert_id.in_(list(alert_ids)))
        )
        return {r.alert_id: SurgeCount(len(json.loads(r.feeds)), int(r.total)) for r in rows}
