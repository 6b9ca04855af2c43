"""What an outbox row delivers, read from the store and turned into a renderable view."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from monitor.notifiers.channels import Item
from monitor.notifiers.config import DigestConfig
from monitor.notifiers.errors import DeliveryError
from monitor.notifiers.story_updates import load_story_update
from monitor.notifiers.views import alert_view, digest_view
from monitor.store import UnitOfWork
from monitor.store.digests import HOLD_PREFIX
from monitor.store.outbox import OutboxRow

SUMMARY_MAX_ITEMS = 100


def load_item(
    uow: UnitOfWork, row: OutboxRow, *, digests: dict[str, DigestConfig], tz: ZoneInfo
) -> Item:
    """The alert or digest of ``row``; a permanent DeliveryError when it is gone."""
    if row.story_id is not None:
        return load_story_update(uow, row, tz)
    if row.alert_id is not None:
        alert = uow.alerts.load(row.alert_id)
        if alert is None:
            raise DeliveryError(f"alert {row.alert_id} is no longer in the store", permanent=True)
        return alert_view(alert, tz)
    assert row.digest_id is not None
    found = uow.digests.get(row.digest_id)
    if found is None:
        raise DeliveryError(f"digest {row.digest_id} is no longer in the store", permanent=True)
    alerts = [a for a in map(uow.alerts.load, uow.digests.alert_ids(found.id)) if a is not None]
    if found.name.startswith(HOLD_PREFIX):
        rule_title = alerts[0].rule.title if alerts else found.name[len(HOLD_PREFIX) :]
        return digest_view(
            id=found.id,
            name=found.name,
            title=f"Summary: {rule_title}",
            kind="summary",
            alerts=alerts,
            created_at=found.created_at,
            tz=tz,
            max_items=SUMMARY_MAX_ITEMS,
            reasons=uow.digests.hold_reasons(found.id),
        )
    cfg = digests.get(found.name, DigestConfig())
    return digest_view(
        id=found.id,
        name=found.name,
        title=cfg.title or found.name,
        kind="digest",
        alerts=alerts,
        created_at=found.created_at,
        tz=tz,
        max_items=cfg.max_items,
    )
