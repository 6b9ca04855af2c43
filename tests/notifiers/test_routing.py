"""Routing and noise control: channels, digests, cooldown, storm protection, idempotency."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

from monitor.models import alert_id
from monitor.notifiers import enqueue_alert

from .conftest import T0, make_alert, make_article, make_rule

TWO = {
    "out": {"type": "console"},
    "box": {"type": "folder", "path": "mail"},
}


def test_rule_notify_picks_channels_else_defaults(make_harness):
    h = make_harness(channels=TWO, default_channels=["box"])
    assert h.raise_alert(make_rule("r1"), make_article("a1")).channels == ("box",)
    assert h.raise_alert(make_rule("r2", notify=("out", "box")), make_article("a2")).channels == (
        "out",
        "box",
    )
    assert len(h.outbox()) == 3


def test_enqueue_is_idempotent(make_harness):
    h = make_harness()
    rule, article = make_rule(), make_article()
    h.raise_alert(rule, article)
    with h.db.write() as uow:
        enqueue_alert(uow, make_alert(rule, article), h.settings, T0)
    assert len(h.outbox()) == 1


async def test_unknown_channel_is_kept_and_reported_dead(make_harness):
    h = make_harness()
    h.raise_alert(make_rule(notify=("pager",)), make_article())
    await h.notifier.deliver_due(T0)
    [row] = h.outbox()
    assert row["status"] == "dead" and "'pager' is not configured" in row["last_error"]


def test_scheduled_rule_goes_to_its_digest(make_harness):
    h = make_harness(digests={"morning": {"cron": "0 8 * * *"}})
    queued = h.raise_alert(make_rule(schedule="morning"), make_article())
    assert queued.digest == "morning" and queued.channels == ()
    assert h.outbox() == []
    with h.db.read() as uow:
        assert uow.digests.pending_alert_ids("morning", until=T0) == [queued.alert_id]


def test_unknown_digest_falls_back_to_immediate(make_harness):
    h = make_harness()
    queued = h.raise_alert(make_rule(schedule="weekly"), make_article())
    assert queued.digest is None and queued.channels == ("mail-folder",)


async def test_cooldown_holds_then_sends_one_summary(make_harness, tmp_path: Path):
    h = make_harness()
    rule = make_rule(cooldown=timedelta(minutes=30))
    first = h.raise_alert(rule, make_article("a1"), now=T0)
    second = h.raise_alert(
        rule, make_article("a2", title="Second story"), now=T0 + timedelta(minutes=5)
    )
    third = h.raise_alert(
        rule, make_article("a3", title="Third story"), now=T0 + timedelta(minutes=9)
    )
    assert first.channels == ("mail-folder",)
    assert second.channels == () and second.digest == "hold:iran-proxies"
    assert third.digest == "hold:iran-proxies"

    n = h.notifier
    assert await n.flush_held(T0 + timedelta(minutes=29)) == []  # still cooling down
    [summary_id] = await n.flush_held(T0 + timedelta(minutes=30))
    assert await n.flush_held(T0 + timedelta(minutes=31)) == []  # released once
    assert await n.deliver_due(T0 + timedelta(minutes=30)) == 2
    # The summary is the message with a digest header (mtimes can tie: not an order).
    messages = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (tmp_path / "mail").glob("*.eml")
    ]
    [summary] = [m for m in messages if m["X-Monitor-Digest"] is not None]
    text = summary.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert summary["X-Monitor-Digest"] == summary_id
    assert "Summary: Iranian proxies attack U.S. forces" in summary["Subject"]
    assert "2 alert(s) were folded into this summary (cooldown)" in text
    assert "Second story" in text and "Third story" in text

    # after the cooldown the next alert goes straight out again
    later = h.raise_alert(rule, make_article("a4", title="Fourth"), now=T0 + timedelta(hours=2))
    assert later.channels == ("mail-folder",)


async def test_storm_is_folded_into_one_summary(make_harness, tmp_path: Path):
    h = make_harness(storm_threshold=3, storm_window_minutes=10)
    rule = make_rule()
    results = [
        h.raise_alert(
            rule, make_article(f"s{i}", title=f"Story {i}"), now=T0 + timedelta(seconds=i)
        )
        for i in range(8)
    ]
    assert [bool(r.channels) for r in results] == [True] * 3 + [False] * 5
    other = h.raise_alert(make_rule("other", title="Other"), make_article("o1"), now=T0)
    assert other.channels  # storms are per rule

    released = await h.notifier.flush_held(T0 + timedelta(minutes=10, seconds=3))
    assert len(released) == 1
    assert await h.notifier.deliver_due(T0 + timedelta(minutes=11)) == 3 + 1 + 1
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (tmp_path / "mail").glob("*.eml")
    ]
    [summary] = [m for m in mails if m["X-Monitor-Digest"]]
    text = summary.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "5 alert(s) were folded into this summary (storm)" in text
    for i in range(3, 8):
        assert f"Story {i}" in text


async def test_a_single_held_alert_is_released_as_itself(make_harness):
    h = make_harness()
    rule = make_rule(cooldown=timedelta(minutes=10))
    h.raise_alert(rule, make_article("a1"), now=T0)
    held = h.raise_alert(rule, make_article("a2", title="Other"), now=T0 + timedelta(minutes=1))
    assert await h.notifier.flush_held(T0 + timedelta(minutes=10)) == [held.alert_id]
    assert {r["alert_id"] for r in h.outbox()} == {
        alert_id(rule.id, "a1"),
        alert_id(rule.id, "a2"),
    }
