"""Where a new alert goes: the outbox (one row per channel), a digest, or a held summary.

Called by the pipeline inside the transaction that stored the alert, so the alert and its
deliveries commit together — nothing is lost between matching and sending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from monitor.events import AlertQueued
from monitor.models import Alert
from monitor.notifiers.config import NotifierSettings
from monitor.store import UnitOfWork
from monitor.store.digests import hold_name

log = logging.getLogger(__name__)


def channels_for(alert: Alert, settings: NotifierSettings) -> tuple[str, ...]:
    """The rule's ``notify:`` channels, else the default ones."""
    return tuple(alert.rule.notify) or tuple(settings.effective_default_channels)


def rule_lock(rule_id: str) -> str:
    """The lock under which a rule's storm and cooldown decisions are taken.

    A transaction that routes alerts of several rules takes their locks in sorted order
    first (:func:`lock_rules`), so two transactions never wait for each other's locks.
    """
    return f"rule:{rule_id}"


def lock_rules(uow: UnitOfWork, rule_ids: Iterable[str]) -> None:
    for rule_id in sorted(set(rule_ids)):
        uow.lock(rule_lock(rule_id))


def hold_for(
    uow: UnitOfWork, alert: Alert, settings: NotifierSettings, now: datetime
) -> tuple[str, datetime] | None:
    """Why and until when an immediate alert must wait (None: send it now).

    An alert joins its rule's open summary while there is one, so nothing overtakes it;
    otherwise storm protection (more than ``storm_threshold`` alerts of the rule within
    ``storm_window_minutes``) or the rule's ``cooldown`` since its last sent alert hold it.
    """
    rule = alert.rule
    uow.lock(rule_lock(rule.id))  # two instances never both decide "not a storm"
    open_group = uow.digests.pending_hold(hold_name(rule.id))
    if open_group is not None:
        due, reason = open_group
        return reason, due
    window = timedelta(minutes=settings.storm_window_minutes)
    recent = uow.alerts.rule_alerts_since(rule.id, since=now - window, exclude=alert.id) + 1
    if recent > settings.storm_threshold:
        return "storm", now + window
    if rule.cooldown:
        last = uow.outbox.last_immediate_alert_at(rule.id)
        if last is not None and now - last < rule.cooldown:
            return "cooldown", last + rule.cooldown
    return None


def enqueue_alert(
    uow: UnitOfWork, alert: Alert, settings: NotifierSettings, now: datetime
) -> AlertQueued:
    """Write the alert's deliveries (idempotent: outbox ids derive from alert id + channel)."""
    rule = alert.rule

    def queued(channels: tuple[str, ...] = (), digest: str | None = None) -> AlertQueued:
        return AlertQueued(
            alert_id=alert.id,
            rule_id=rule.id,
            article_id=alert.article.id,
            title=alert.article.title,
            channels=channels,
            digest=digest,
        )

    if rule.schedule != "immediate":
        if rule.schedule in settings.digests:
            uow.digests.add_item(digest=rule.schedule, alert_id=alert.id, now=now)
            return queued(digest=rule.schedule)
        log.warning(
            "rule %s names digest %r, which is not configured: alert %s is sent immediately",
            rule.id,
            rule.schedule,
            alert.id,
        )
    hold = hold_for(uow, alert, settings, now)
    if hold is not None:
        reason, due = hold
        name = hold_name(rule.id)
        uow.digests.add_item(digest=name, alert_id=alert.id, now=now, due_at=due, reason=reason)
        log.info("alert %s held (%s) for rule %s until %s", alert.id, reason, rule.id, due)
        return queued(digest=name)
    channels = channels_for(alert, settings)
    for channel in channels:
        uow.outbox.enqueue(channel=channel, now=now, alert_id=alert.id)
    return queued(channels=channels)
