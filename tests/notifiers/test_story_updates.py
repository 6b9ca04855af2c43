"""Story updates to a real webhook receiver and a real SMTP server: one per slot, not fifty."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from monitor.models import Article
from monitor.notifiers import enqueue_alert
from monitor.notifiers.story_updates import queue_story_updates
from monitor.pipeline import Pipeline
from monitor.rules import RuleSet
from monitor.stories import StoriesConfig
from monitor.stories.folding import StoryFolder
from tests.conftest import ruleset_from

from .conftest import T0, Harness

RULES = """
rules:
  - id: drones
    title: Drone attacks
    severity: high
    query: 'drone* NEAR/3 attack*'
"""
WIRE = Article(
    id="wire-1",
    feed="wire",
    title="Iranian proxies launch drone attack on U.S. base in eastern Syria",
    link="https://wire.example/world/1",
    published=T0 - timedelta(minutes=10),
    summary=(
        "Iran-backed militias launched a drone attack on a base housing U.S. troops in eastern "
        "Syria on Tuesday, a Pentagon spokesman said, the third such attack this week."
    ),
)


def copy_from(outlet: str) -> Article:
    return replace(
        WIRE,
        id=f"https://{outlet}.example/world/iran-drones?utm_source=wire",
        feed=outlet,
        link=f"https://{outlet}.example/world/iran-drones?utm_source=wire",
        title=WIRE.title + f" | {outlet}",
    )


def ruleset(tmp_path: Any) -> RuleSet:
    return ruleset_from(tmp_path, RULES)


def pipeline(h: Harness, rules: RuleSet) -> Pipeline:
    settings = h.settings
    return Pipeline(
        h.db,
        lambda: rules,
        lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        h.bus,
        retention=timedelta(days=90),
        stories=StoryFolder(
            StoriesConfig(),
            on_new_source=lambda uow, story, now: queue_story_updates(
                uow, story, channels=settings.channels, minutes=5, now=now
            ),
        ),
    )


def channels(hook_url: str, smtp_port: int) -> dict[str, Any]:
    return {
        "hook": {"type": "webhook", "url": hook_url, "timeout": 5, "story_updates": True},
        "desk": {
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp_port,
            "from": "Monitor <monitor@alerts.example.org>",
            "to": ["analysts@example.org"],
            "timeout": 5,
            "story_updates": True,
        },
        "quiet": {"type": "webhook", "url": hook_url + "quiet", "timeout": 5},
    }


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def test_fifty_outlets_joining_make_one_update_per_channel_and_slot(
    make_harness, webhook_receiver, smtp_server, tmp_path
):
    server = smtp_server()
    h = make_harness(channels=channels(webhook_receiver.url(), server.port))
    p = pipeline(h, ruleset(tmp_path))
    first = await p.ingest([WIRE], now=T0)
    assert len(first.alerts) == 1
    assert await h.notifier.deliver_due(T0) == 3  # the alert, on each channel

    for i in range(50):  # fifty outlets within three minutes: one slot (14:00-14:05)
        at = T0 + timedelta(seconds=3 * i + 3)
        later = await p.ingest([copy_from(f"outlet{i:02d}")], now=at)
        assert later.alerts == []
    updates = [r for r in h.outbox() if r["story_id"] is not None]
    assert sorted(r["channel"] for r in updates) == ["desk", "hook"]  # not "quiet"
    assert await h.notifier.deliver_due(T0 + timedelta(minutes=3)) == 0  # not due yet
    assert await h.notifier.deliver_due(T0 + timedelta(minutes=5)) == 2

    alert_body, update_body = (
        r.json() for r in webhook_receiver.requests if not r.path.endswith("quiet")
    )
    assert alert_body["type"] == "alert"
    assert update_body["type"] == "story_update"
    assert update_body["story"]["alert_id"] == alert_body["id"]
    assert update_body["id"] != alert_body["id"]
    assert update_body["story"]["sources"][0] == "wire"
    assert len(update_body["story"]["new_sources"]) == 50
    assert update_body["story"]["count"] == 51
    assert len(update_body["article"]["other_feeds"]) == 20  # the view's bound

    alert_mail, update_mail = (parse(m.data) for m in server.messages)
    assert update_mail["Subject"] == "Update: " + alert_mail["Subject"]
    assert update_mail["In-Reply-To"] == alert_mail["In-Reply-To"]  # the same thread
    assert update_mail["Message-ID"] != alert_mail["Message-ID"]
    text = update_mail.get_body(("plain",))
    assert text is not None
    assert "Carried by: 51 feed(s): wire, outlet00" in text.get_content()

    # another outlet in the next slot: one more update
    await p.ingest([copy_from("late")], now=T0 + timedelta(minutes=7))
    assert await h.notifier.deliver_due(T0 + timedelta(minutes=10)) == 2
    last = webhook_receiver.requests[-1].json()
    assert last["type"] == "story_update" and last["story"]["new_sources"] == ["late"]


async def test_no_update_before_the_alert_was_sent_nor_for_a_feed_already_carrying_it(
    make_harness, webhook_receiver, smtp_server, tmp_path
):
    server = smtp_server()
    h = make_harness(channels=channels(webhook_receiver.url(), server.port))
    p = pipeline(h, ruleset(tmp_path))
    await p.ingest([WIRE], now=T0)
    await p.ingest([copy_from("outlet")], now=T0 + timedelta(minutes=1))  # alert not sent yet
    assert [r for r in h.outbox() if r["story_id"]] == []
    assert await h.notifier.deliver_due(T0 + timedelta(minutes=1)) == 3
    # the alert, sent after the copy joined, already lists it
    assert webhook_receiver.requests[0].json()["article"]["other_feeds"] == ["outlet"]
    # the wire's own second copy (another id) brings no new outlet
    again = replace(WIRE, id="wire-1-resend", link="https://wire.example/world/1b")
    await p.ingest([again], now=T0 + timedelta(minutes=2))
    assert [r for r in h.outbox() if r["story_id"]] == []
