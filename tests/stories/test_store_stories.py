"""Story rows in the store: copied between backends, pruned by housekeeping."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.app import App
from monitor.bus import EventBus
from monitor.config import Settings
from monitor.notifiers.routing import enqueue_alert
from monitor.pipeline import Pipeline
from monitor.rules import RuleSet
from monitor.store import Store, open_store
from monitor.store.copy import copy_store
from monitor.stories import StoriesConfig
from monitor.stories.folding import StoryFolder
from tests.conftest import MakeSettings
from tests.stores import execute, rows

from .test_pipeline_stories import COPY, NOW, OTHER, WIRE, pipeline_for, ruleset, settings

__all__ = ["ruleset", "settings"]  # fixtures


async def test_a_story_copied_into_postgresql_still_folds_its_copies(
    tmp_path: Path, pg_url: str, ruleset: RuleSet, settings: Settings
) -> None:
    src = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    dst = open_store(pg_url)
    try:
        await pipeline_for(src, ruleset, settings).ingest([WIRE], now=NOW)
        counts = copy_store(src, dst)
        assert counts["stories"] == 1 and counts["story_bands"] == 16
        later = await pipeline_for(dst, ruleset, settings).ingest(
            [COPY], now=NOW + timedelta(minutes=5)
        )
        assert later.alerts == []
        assert rows(dst, "SELECT story_id FROM story_articles WHERE article_id = :a",
                    {"a": COPY.id}) == [(WIRE.id,)]  # fmt: skip
    finally:
        src.close()
        dst.close()


async def test_housekeeping_forgets_band_keys_out_of_the_window_and_empty_stories(
    make_settings: MakeSettings, ruleset: RuleSet
) -> None:
    settings = make_settings(feeds=[], store={"retention_days": 1})
    async with App.open(settings) as app:
        store: Store = app.store
        pipeline = pipeline_for(store, ruleset, settings)
        await pipeline.ingest([WIRE], now=NOW)
        await pipeline.ingest([OTHER], now=NOW + timedelta(hours=30))
        # the wire story is out of the window; its article is past retention too
        execute(store, "UPDATE outbox SET status = 'sent'")  # nothing waits to be sent
        await app.housekeeping(NOW + timedelta(hours=50))
        assert {r[0] for r in rows(store, "SELECT story_id FROM story_bands")} == {OTHER.id}
        assert {r[0] for r in rows(store, "SELECT id FROM stories")} == {OTHER.id}
        assert rows(store, "SELECT article_id FROM story_articles") == [(OTHER.id,)]


def test_lock_all_takes_every_lock_in_one_statement(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store.write() as uow:
            uow.lock_all(["story-band:1", "story-band:2", "story-band:1", "rule:x"])
            held = uow._conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()"
            ).scalar()
            uow.lock_all([])
        assert held == 3
    finally:
        store.close()


async def test_story_updates_are_queued_once_per_channel_and_slot_on_both_backends(
    store: Store, ruleset: RuleSet, make_settings: MakeSettings
) -> None:
    from monitor.notifiers.story_updates import queue_story_updates

    settings = make_settings(
        feeds=[],
        channels={
            "hook": {"type": "webhook", "url": "https://hooks.example/x", "story_updates": True},
            "mail-folder": {"type": "folder", "path": "mail"},
        },
    )
    await pipeline_for(store, ruleset, settings).ingest([WIRE], now=NOW)

    def queue(uow: object, minutes_later: float) -> int:
        return queue_story_updates(
            uow,  # type: ignore[arg-type]
            WIRE.id,
            channels=settings.channels,
            minutes=5,
            now=NOW + timedelta(minutes=minutes_later),
        )

    with store.write() as uow:
        assert queue(uow, 1) == 0  # the alert has not been sent yet: nothing to follow up
    execute(store, "UPDATE outbox SET status = 'sent', sent_at = :t", {"t": NOW})
    with store.write() as uow:
        assert queue(uow, 1) == 1  # only the channel that asked for updates
        assert queue(uow, 2) == 0  # the same slot: already queued
        assert queue(uow, 6) == 1  # the next slot
    updates = rows(store, "SELECT channel, story_id FROM outbox WHERE story_id IS NOT NULL")
    assert updates == [("hook", WIRE.id), ("hook", WIRE.id)]
    with store.read() as uow:
        # a story update is not the rule's last immediate alert (cooldowns count from that)
        assert uow.outbox.last_immediate_alert_at("drones") == NOW


def test_a_lookup_is_bounded_and_ranks_the_stories_sharing_most_bands_first(store: Store) -> None:
    from monitor.store.stories import MAX_CANDIDATES

    with store.write() as uow:
        for i in range(MAX_CANDIDATES + 50):  # formulaic stories sharing one band key
            uow.stories.create(article_id=f"s{i}", signature=b"\0" * 512, bands=[7, 1000 + i],
                               now=NOW)  # fmt: skip
        uow.stories.create(article_id="same", signature=b"\1" * 512, bands=[7, 8, 9], now=NOW)
        found = uow.stories.candidates([7, 8, 9], since=NOW - timedelta(hours=1))
        assert len(found) == MAX_CANDIDATES
        assert found[0].id == "same" and found[0].signature == b"\1" * 512
        assert uow.stories.candidates([7, 8, 9], since=NOW + timedelta(hours=1)) == []


@pytest.mark.parametrize("quiet", ["backfill", "retention"])
async def test_a_quiet_copy_joins_the_story_but_queues_no_update_on_both_backends(
    store: Store, ruleset: RuleSet, make_settings: MakeSettings, quiet: str
) -> None:
    """Regression: a copy that is not news — a new feed's backfill on its first poll, or one
    older than the retention — queued a story update. It joins the story and its feed is a
    source; an update waits for a copy that is news."""
    pipeline = _updating_pipeline(store, ruleset, make_settings)
    await pipeline.ingest([WIRE], now=NOW)
    execute(store, "UPDATE outbox SET status = 'sent', sent_at = :t", {"t": NOW})
    at = NOW + timedelta(minutes=1)
    if quiet == "backfill":  # the outlet's first poll; its copy is older than the limit
        result = await pipeline.ingest(
            [COPY], now=at, first_poll=True, backfill_after=at - timedelta(minutes=5)
        )
    else:
        result = await pipeline.ingest([replace(COPY, published=NOW - timedelta(days=100))],
                                       now=at)  # fmt: skip
    assert result.quiet == 1 and result.alerts == []
    assert rows(store, "SELECT story_id FROM story_articles WHERE article_id = :a",
                {"a": COPY.id}) == [(WIRE.id,)]  # fmt: skip
    with store.read() as uow:
        assert uow.stories.feeds(WIRE.id) == ["wire", "outlet"]
    updates = "SELECT channel, story_id FROM outbox WHERE story_id IS NOT NULL"
    assert rows(store, updates) == []
    # a copy that is news, from a third outlet, queues the update
    third = replace(COPY, id="https://third.example/iran-drones", feed="third",
                    link="https://third.example/iran-drones")  # fmt: skip
    await pipeline.ingest([third], now=at + timedelta(minutes=1))
    assert rows(store, updates) == [("hook", WIRE.id)]


def _updating_pipeline(store: Store, ruleset: RuleSet, make_settings: MakeSettings) -> Pipeline:
    """A pipeline whose stories queue updates for a webhook channel that asked for them."""
    from monitor.notifiers.story_updates import queue_story_updates

    settings = make_settings(
        feeds=[],
        channels={
            "hook": {"type": "webhook", "url": "https://hooks.example/x", "story_updates": True}
        },
    )
    return Pipeline(
        store,
        lambda: ruleset,
        lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        EventBus(),
        retention=timedelta(days=90),
        stories=StoryFolder(
            StoriesConfig(),
            on_new_source=lambda uow, story, now: queue_story_updates(
                uow, story, channels=settings.channels, minutes=5, now=now
            ),
        ),
    )


@pytest.mark.parametrize("quiet", [False, True])
async def test_a_feed_carrying_the_very_same_article_is_a_new_outlet_of_its_story(
    store: Store, ruleset: RuleSet, make_settings: MakeSettings, quiet: bool
) -> None:
    """Regression: a second feed carrying the article itself (the same guid or link) is
    recorded as a source, but only near-duplicate copies queued a story update: an exact
    copy was never placed in a story, so its outlet joining went untold."""
    pipeline = _updating_pipeline(store, ruleset, make_settings)
    await pipeline.ingest([WIRE], now=NOW)
    execute(store, "UPDATE outbox SET status = 'sent', sent_at = :t", {"t": NOW})
    at = NOW + timedelta(minutes=1)
    mirror = replace(WIRE, feed="mirror")
    if quiet:  # the mirror's first poll, the article older than its backfill limit
        await pipeline.ingest([mirror], now=at, first_poll=True, backfill_after=at)
    else:
        await pipeline.ingest([mirror], now=at)
    await pipeline.ingest([mirror], now=at + timedelta(minutes=1))  # polled again: nothing new
    with store.read() as uow:
        assert uow.stories.feeds(WIRE.id) == ["wire", "mirror"]
    updates = rows(store, "SELECT channel, story_id FROM outbox WHERE story_id IS NOT NULL")
    assert updates == ([] if quiet else [("hook", WIRE.id)])
