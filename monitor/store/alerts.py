"""Reading and writing alerts (the outbox and digests have repositories of their own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from monitor.models import Alert
from monitor.store.codec import (
    article_from_row,
    hits_from_json,
    hits_to_json,
    rule_from_json,
    rule_to_json,
)
from monitor.store.sql import insert_ignore
from monitor.store.stories import story_members
from monitor.store.surges import SurgeCount, SurgeRepo
from monitor.store.tables import alerts, article_sources, articles


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """One line of ``monitor alerts list``."""

    id: str
    rule_id: str
    severity: str
    created_at: datetime
    title: str
    feed: str
    link: str | None
    sources: tuple[str, ...]
    surge: SurgeCount | None = None  # a surge alert: the feeds and articles it counted


def _origin_first(origin: str, feeds: list[str]) -> tuple[str, ...]:
    return (origin, *(f for f in feeds if f != origin))


class AlertRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, alert: Alert) -> bool:
        """Store the alert; False when this (rule, article) already had one."""
        return insert_ignore(
            self._conn,
            alerts,
            {"id": alert.id, "rule_id": alert.rule.id, "article_id": alert.article.id,
             "rule_title": alert.rule.title, "severity": alert.rule.severity,
             "rule": rule_to_json(alert.rule), "hits": hits_to_json(alert.hits),
             "created_at": alert.created_at},
        )  # fmt: skip

    def load(self, alert_id: str) -> Alert | None:
        """The alert with its article and the other feeds that carried the article."""
        a = alerts.c
        row = (
            self._conn.execute(
                select(a.id.label("alert_id"), a.rule, a.hits, a.created_at.label("alert_at"),
                       *articles.c)
                .join(articles, articles.c.id == a.article_id)
                .where(a.id == alert_id)
            ).mappings().first()
        )  # fmt: skip
        if row is None:
            return None
        article = article_from_row(dict(row))
        feeds = self._sources([article.id]).get(article.id, [])
        others = tuple(f for f in feeds if f != article.feed)
        return Alert(
            id=row["alert_id"],
            rule=rule_from_json(row["rule"]),
            article=article,
            hits=hits_from_json(row["hits"]),
            created_at=row["alert_at"],
            other_feeds=others,
            surge=SurgeRepo(self._conn).detail(row["alert_id"]),
        )

    def recent(self, *, limit: int = 20, since: datetime | None = None) -> list[AlertSummary]:
        """Newest first, for ``monitor alerts list``."""
        a, ar = alerts.c, articles.c
        stmt = (
            select(a.id, a.rule_id, a.severity, a.created_at, ar.title, ar.feed, ar.link,
                   a.article_id)
            .join(articles, ar.id == a.article_id)
            .order_by(a.created_at.desc(), a.id)
            .limit(limit)
        )  # fmt: skip
        if since is not None:
            stmt = stmt.where(a.created_at >= since)
        rows = self._conn.execute(stmt).all()
        sources = self._sources([r.article_id for r in rows])
        surges = SurgeRepo(self._conn).counts([r.id for r in rows])
        return [
            AlertSummary(r.id, r.rule_id, r.severity, r.created_at, r.title, r.feed, r.link,
                         _origin_first(r.feed, sources.get(r.article_id, [r.feed])),
                         surges.get(r.id))
            for r in rows
        ]  # fmt: skip

    def _sources(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """Every feed that carried each article or another article of its story, in the
        order they did."""
        found: dict[str, list[str]] = {}
        if not article_ids:
            return found
        members = story_members(self._conn, article_ids)
        wanted = {a: set(members.get(a, (a,))) | {a} for a in article_ids}
        s = article_sources.c
        rows = self._conn.execute(
            select(s.article_id, s.feed)
            .where(s.article_id.in_(list(set().union(*wanted.values()))))
            .order_by(s.seen_at, s.feed)
        ).all()
        for article_id, ids in wanted.items():
            feeds = found.setdefault(article_id, [])
            for r in rows:
                if r.article_id in ids and r.feed not in feeds:
                    feeds.append(r.feed)
        return found

    def rule_alerts_since(self, rule_id: str, *, since: datetime, exclude: str) -> int:
        """Alerts of one rule since ``since`` (storm protection), not counting ``exclude``."""
        a = alerts.c
        return int(
            self._conn.execute(
                select(func.count())
                .select_from(alerts)
                .where(a.rule_id == rule_id, a.created_at > since, a.id != exclude)
            ).scalar_one()
        )

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(alerts)).scalar_one())

    def counts_by_rule(self, since: datetime) -> dict[str, int]:
        """Alerts per rule created at or after ``since`` (the status page's hit counts)."""
        a = alerts.c
        rows = self._conn.execute(
            select(a.rule_id, func.count()).where(a.created_at >= since).group_by(a.rule_id)
        )
        return {r[0]: int(r[1]) for r in rows}
