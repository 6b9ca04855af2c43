"""Surge rules in the pipeline: decide under the rule's lock, store the state, raise the alert.

Called by the pipeline inside the transaction that recorded the matches, after it took the
locks of every rule it routes (:func:`monitor.notifiers.routing.lock_rules`): so the state
read here is the latest committed one, and two instances cannot both start the same surge
(the state is also written as a compare-and-set, and the alert id is derived from the rule and
the surge's start, inserted with ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from monitor.models import Alert, Rule, SurgeDetail
from monitor.store import UnitOfWork
from monitor.surges import Episode, Source, evaluate, needed_span, surge_alert_id

log = logging.getLogger(__name__)


@dataclass(slots=True)
class NewMatches:
    """A surge rule's new members in one chunk, each an (article, feed): a new matching
    article is one; so is a feed newly carrying an article the rule matched (the same guid
    or canonical link in another feed)."""

    rule: Rule
    members: set[Source] = field(default_factory=set)


def raise_surges(
    uow: UnitOfWork,
    pending: dict[str, NewMatches],
    *,
    now: datetime,
    alert_after: datetime | None,
) -> list[Alert]:
    """The surge alerts the new matches start (stored); the rules' states updated.

    A surge that starts before ``alert_after`` (among a new feed's backfilled articles, or
    older than the retention) is recorded in the state — the rule is firing — but raises no
    alert, as the articles it is made of would raise none.
    """
    raised: list[Alert] = []
    for rule_id in sorted(pending):
        rule, new = pending[rule_id].rule, pending[rule_id].members
        if rule.surge is None or not new:
            continue
        # The database decides what is new: a member already counted (a feed polled again
        # with the same article) is not evaluated twice. Their times are the stored ones (an
        # edited article keeps its first published time).
        added = uow.surges.add_members(rule_id, new)
        if not added:
            continue
        stored = uow.surges.state(rule_id)
        times = [m.published for m in added]
        after, until = needed_span(rule.surge, times)
        if not stored.version:  # the rule's first surge evaluation: count its earlier matches
            uow.surges.seed_members(rule_id, after=after, until=until,
                                    every_source=not rule.feeds)  # fmt: skip
        known = uow.surges.members(rule_id, after=after, until=until)
        outcome = evaluate(rule.surge, stored.state, known, times)
        uow.surges.save(rule_id, stored, outcome.state, now)
        for episode in outcome.episodes:
            if alert_after is not None and episode.start < alert_after:
                log.info("rule %s: surge at %s among quiet articles, not alerted",
                         rule_id, episode.start.isoformat())  # fmt: skip
                continue
            alert = _alert(uow, rule, episode, now)
            if alert is not None:
                raised.append(alert)
    return raised


def _alert(uow: UnitOfWork, rule: Rule, episode: Episode, now: datetime) -> Alert | None:
    listed = episode.listed()
    found = uow.surges.articles([m.article_id for m in listed])  # distinct: see listed()
    trigger_id = episode.trigger.article_id
    trigger = next((a for a in found if a.id == trigger_id), None)
    if trigger is None:
        trigger = next(iter(uow.surges.articles([trigger_id])), None)
    if trigger is None:  # pruned meanwhile: nothing to show
        return None
    detail = SurgeDetail(
        start=episode.start,
        feeds=episode.feeds,
        articles=tuple(found),
        total=len(episode.article_ids),
    )
    alert = Alert(
        id=surge_alert_id(rule.id, episode.start),
        rule=rule,
        article=trigger,
        hits=uow.surges.hits(rule.id, trigger_id),
        created_at=now,
        surge=detail,
    )
    if not uow.alerts.insert(alert):
        if uow.surges.detail(alert.id) is None:  # not this surge: its article's old alert
            log.warning(
                "rule %s: surge at %s not alerted: its last article %s already had an alert"
                " of this rule (from before the rule had surge:)",
                rule.id, episode.start.isoformat(), trigger_id,
            )  # fmt: skip
        return None
    uow.surges.record(
        alert_id=alert.id,
        rule_id=rule.id,
        start=episode.start,
        feeds=detail.feeds,
        article_ids=[a.id for a in found],
        total=detail.total,
    )
    return alert
