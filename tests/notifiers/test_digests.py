"""Digests: cron fire times computed (no sleeping), grouping, dedupe, limits, restarts."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor.events import AlertDelivered
from monitor.notifiers import Notifier
from monitor.notifiers.views import digest_view
from monitor.store import open_store

from .conftest import T0, make_alert, make_article, make_rule

BERLIN = "Europe/Berlin"
DIGESTS = {"morning": {"cron": "0 8 * * 1-5", "timezone": BERLIN, "max_items": 3}}


def fire_times(cron: str, tz: str, start: datetime, n: int) -> list[datetime]:
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    times: list[datetime] = []
    previous: datetime | None = None
    now = start
    for _ in range(n):
        nxt = trigger.get_next_fire_time(previous, now)
        times.append(nxt)
        previous, now = nxt, nxt + timedelta(microseconds=1)
    return times


def read_eml(folder: Path) -> list[email.message.EmailMessage]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        out.append(msg)
    return out


async def test_digest_follows_the_cron_schedule_and_survives_a_restart(
    make_harness, tmp_path: Path
):
    h = make_harness(digests=DIGESTS, timezone=BERLIN)
    monday_8, tuesday_8 = fire_times("0 8 * * 1-5", BERLIN, T0, 2)  # T0 is Monday 16:00 Berlin
    assert monday_8.tzinfo is not None and monday_8.hour == 8
    assert (monday_8.weekday(), tuesday_8.weekday()) == (1, 2)  # Tuesday, Wednesday 08:00
    low = make_rule("low-rule", title="Low rule", severity="low", schedule="morning")
    crit = make_rule("crit-rule", title="Critical rule", severity="critical", schedule="morning")
    h.raise_alert(low, make_article("a1", title="Old low story"), now=T0)
    h.raise_alert(low, make_article("a2", title="New low story", published=T0), now=T0)
    h.raise_alert(crit, make_article("a2", title="New low story", published=T0), now=T0)
    h.raise_alert(crit, make_article("a3", title="Critical story"), now=T0)
    assert h.outbox() == []

    # the daemon restarts before the digest time: nothing is lost
    h.db.close()
    h.db = open_store(str(tmp_path / "m.db"))
    h._notifier = None
    late = monday_8 + timedelta(minutes=1)
    h.raise_alert(low, make_article("a4", title="Too late for this one"), now=late)

    digest_id = await h.notifier.run_digest("morning", monday_8)
    assert digest_id is not None
    assert await h.notifier.run_digest("morning", monday_8) == digest_id  # same fire time: once
    assert await h.notifier.deliver_due(monday_8) == 1
    [msg] = read_eml(tmp_path / "mail")
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert msg["Subject"] == "[digest] morning: 3 alert(s)"
    assert (
        "X-Monitor-Digest" in msg
        and msg["List-Id"].strip() == '"morning" <morning.digests.localhost>'
    )
    # severity first, then rule; the article two rules matched appears once, listing both
    assert text.index("CRITICAL") < text.index("LOW")
    assert text.count("New low story") == 1
    assert "Rules: Critical rule; Low rule" in text
    assert "Too late" not in text
    assert "made 2023-10-24 08:00 CEST" in text

    # the next fire time carries the late alert
    next_id = await h.notifier.run_digest("morning", tuesday_8)
    assert next_id not in (None, digest_id)
    assert await h.notifier.deliver_due(tuesday_8) == 1
    assert any(
        "Too late" in m.get_body(("plain",)).get_content() for m in read_eml(tmp_path / "mail")
    )  # type: ignore[union-attr]


async def test_empty_digest_is_not_sent_unless_asked(make_harness):
    h = make_harness(
        digests={"quiet": {"cron": "0 * * * *"}, "loud": {"cron": "0 * * * *", "send_empty": True}}
    )
    assert await h.notifier.run_digest("quiet", T0) is None
    assert await h.notifier.run_digest("loud", T0) is not None
    assert await h.notifier.deliver_due(T0) == 1


def test_max_items_and_more_newest_first():
    tz = ZoneInfo("UTC")
    rule = make_rule(schedule="d")
    alerts = [
        make_alert(
            rule, make_article(f"a{i}", title=f"Story {i}", published=T0 + timedelta(hours=i))
        )
        for i in range(5)
    ]
    view = digest_view(
        id="d1",
        name="d",
        title="D",
        kind="digest",
        alerts=alerts,
        created_at=T0,
        tz=tz,
        max_items=3,
    )
    assert view.total == 5 and view.omitted == 2
    [group] = view.groups
    titles = [e.alert.article.title for e in group.rules[0].entries]
    assert titles == ["Story 4", "Story 3", "Story 2"]


async def test_schedule_adds_cron_jobs_with_their_timezone(make_harness):
    h = make_harness(digests=DIGESTS)
    scheduler = AsyncIOScheduler(timezone="UTC")
    h.notifier.schedule(scheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"digest:morning", "notifier:held-summaries"}
    trigger = jobs["digest:morning"].trigger
    assert str(trigger.timezone) == BERLIN
    assert trigger.get_next_fire_time(None, T0) == fire_times("0 8 * * 1-5", BERLIN, T0, 1)[0]


async def test_run_loop_delivers_and_stops(make_harness):
    h = make_harness()
    delivered = asyncio.Event()
    h.bus.subscribe(AlertDelivered, lambda _e: delivered.set())
    stop = asyncio.Event()
    notifier: Notifier = h.notifier
    task = asyncio.create_task(notifier.run(stop))
    h.raise_alert(make_rule(), make_article())  # AlertQueued wakes the loop
    await asyncio.wait_for(delivered.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert h.outbox()[0]["status"] == "sent"
    await notifier.aclose()
