"""The status page: one read-only unit of work gathers it, Jinja2 (autoescaped) lays it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2

from monitor.app import App
from monitor.clock import utcnow
from monitor.models import SEVERITIES, Alert
from monitor.notifiers.sanitize import safe_href
from monitor.notifiers.views import AlertView, alert_view, format_local
from monitor.store import UnitOfWork
from monitor.store.feeds import FeedState
from monitor.store.instances import InstanceRow
from monitor.store.outbox import STATUSES, OutboxRow

RECENT_ALERTS = 25
DEAD_ROWS = 20

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.http", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the store says, read in one transaction."""

    feeds: dict[str, FeedState]
    alerts: list[Alert]
    day: dict[str, int]
    week: dict[str, int]
    outbox: dict[str, int]
    dead: list[OutboxRow]
    instances: list[InstanceRow]


def read_snapshot(uow: UnitOfWork, now: datetime) -> Snapshot:
    alerts = [a for s in uow.alerts.recent(limit=RECENT_ALERTS) if (a := uow.alerts.load(s.id))]
    return Snapshot(
        feeds={s.name: s for s in uow.feeds.all()},
        alerts=alerts,
        day=uow.alerts.counts_by_rule(now - timedelta(days=1)),
        week=uow.alerts.counts_by_rule(now - timedelta(days=7)),
        outbox=uow.outbox.counts(),
        dead=uow.outbox.rows(status="dead", limit=DEAD_ROWS),
        instances=uow.instances.all(),
    )


def ago(value: datetime | None, now: datetime) -> str:
    """``3 min ago`` / ``in 5 min``: how a glance at a wall screen reads a time."""
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        text = f"{int(seconds)} s"
    elif seconds < 90 * 60:
        text = f"{round(seconds / 60)} min"
    elif seconds < 36 * 3600:
        text = f"{round(seconds / 3600)} h"
    else:
        text = f"{round(seconds / 86400)} d"
    return f"in {text}" if future else f"{text} ago"


@dataclass(frozen=True, slots=True)
class FeedRow:
    name: str
    url: str
    href: str | None
    state: FeedState | None

    @property
    def failing(self) -> bool:
        return self.state is not None and self.state.failures > 0


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: str
    title: str
    severity: str
    schedule: str
    day: int
    week: int


async def render_status(app: App, *, instance_id: str) -> str:
    now = utcnow()
    snap = await app.store.run(lambda uow: read_snapshot(uow, now), write=False)
    tz = ZoneInfo(app.settings.timezone)
    ruleset = app.ruleset
    feeds = [
        FeedRow(f.name, snap.feeds[f.name].url if f.name in snap.feeds else f.url,
                safe_href(snap.feeds[f.name].url if f.name in snap.feeds else f.url),
                snap.feeds.get(f.name))
        for f in app.feeds
    ]  # fmt: skip
    rank: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
    rules = sorted(
        (RuleRow(r.id, r.title, r.severity, r.schedule, snap.day.get(r.id, 0),
                 snap.week.get(r.id, 0)) for r in ruleset.rules),
        key=lambda r: (-rank.get(r.severity, 0), -r.week, r.id),
    )  # fmt: skip
    views: list[AlertView] = [alert_view(a, tz) for a in snap.alerts]

    def local(value: datetime | None) -> str:
        return format_local(value, tz) if value is not None else "—"

    return _env.get_template("status.html.j2").render(
        now=now,
        now_local=local(now),
        feeds=feeds,
        failing=sum(1 for f in feeds if f.failing),
        alerts=views,
        rules=rules,
        ruleset_version=ruleset.version,
        rule_count=len(ruleset.rules),
        outbox=[(s, snap.outbox.get(s, 0)) for s in STATUSES],
        dead=snap.dead,
        instances=snap.instances,
        instance_id=instance_id,
        alerts_day=sum(snap.day.values()),
        local=local,
        ago=lambda v: ago(v, now),
        alive=lambda i: now - i.heartbeat_at < app.instance.dead_after,
    )
