"""Story updates: a short follow-up when more outlets carry a story already alerted.

Only channels with ``story_updates = true`` get them, and only for alerts those channels
were sent. Outlets joining within one time slot (``stories.update_minutes``) make one
update per channel: its outbox row's id derives from (story, channel, slot), so every
instance and every joining copy inserts the same row and the database keeps one. The row is
due at the end of its slot and renders the story's sources as they are when it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.notifiers.config import ChannelSettings
from monitor.notifiers.errors import DeliveryError
from monitor.notifiers.views import AlertView, alert_view, story_update_view
from monitor.store import UnitOfWork
from monitor.store.outbox import OutboxRow, outbox_id


def slot_of(now: datetime, minutes: float) -> tuple[str, datetime]:
    """The slot ``now`` falls in (its name) and when it ends (the update is due then)."""
    width = minutes * 60
    index = int(now.timestamp() // width)
    end = datetime.fromtimestamp((index + 1) * width, tz=now.tzinfo)
    return str(index), end


def queue_story_updates(
    uow: UnitOfWork,
    story_id: str,
    *,
    channels: Mapping[str, ChannelSettings],
    minutes: float,
    now: datetime,
) -> int:
    """Queue the story's update on each channel that wants one and was sent its alert.

    Called in the transaction where a copy from a new outlet joined the story. Returns how
    many rows this call inserted (0 when the slot's update was already queued).
    """
    wanted = {name for name, cfg in channels.items() if cfg.story_updates}
    if not wanted:
        return 0
    slot, due = slot_of(now, minutes)
    queued = 0
    done: set[str] = set()
    for alert_id, channel in uow.outbox.sent_channels(uow.stories.alert_ids(story_id)):
        if channel in wanted and channel not in done:
            done.add(channel)  # the story's first alert on the channel is the one followed up
            queued += uow.outbox.enqueue_story_update(
                story_id=story_id, alert_id=alert_id, channel=channel, slot=slot,
                now=now, due=max(due, now + timedelta(seconds=1)),
            )  # fmt: skip
    return queued


def load_story_update(uow: UnitOfWork, row: OutboxRow, tz: ZoneInfo) -> AlertView:
    """The update of ``row`` with the story's sources as they are now; new are those that
    came after the alert, or the story's last update, was sent on this channel."""
    assert row.story_id is not None and row.alert_id is not None
    alert = uow.alerts.load(row.alert_id)
    if alert is None:
        raise DeliveryError(f"alert {row.alert_id} is no longer in the store", permanent=True)
    original = uow.outbox.get(outbox_id("alert", row.alert_id, row.channel))
    told = [
        (original.sent_at if original else None) or alert.created_at,
        uow.outbox.story_update_sent_at(row.story_id, row.channel),
    ]
    listed_until = max(t for t in told if t is not None)
    seen = uow.stories.feeds_seen(row.story_id)
    sources = [alert.article.feed, *(f for f in seen if f != alert.article.feed)]
    new = [f for f, at in seen.items() if at > listed_until and f != alert.article.feed]
    return story_update_view(
        alert_view(alert, tz), update_id=row.id, sources=sources, new_sources=new
    )
