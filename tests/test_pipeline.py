"""The pipeline stage alone: articles in, typed events and store rows out (no network)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.bus import EventBus
from monitor.config import Settings
from monitor.events import AlertQueued, ArticleDiscovered, RuleMatched
from monitor.models import Article
from monitor.notifiers.routing import enqueue_alert
from monitor.pipeline import Pipeline
from monitor.rules import RuleSet, load_rules
from monitor.store import Store
from tests.conftest import MakeSettings, ruleset_from
from tests.stores import rows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = """
actors:
  iran: [Iran, Iranian, IRGC]
rules:
  - id: drones
    title: Drone attacks
    severity: high
    query: '@iran AND drone* NEAR/3 attack*'
  - id: rockets
    title: Rocket attacks
    severity: medium
    query: '@iran AND rocket*'
"""


@pytest.fixture
def ruleset(tmp_path: Path) -> RuleSet:
    return ruleset_from(tmp_path, RULES)


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(feeds=[])


@pytest.fixture
def db(store: Store) -> Store:
    """Every pipeline test runs on both backends."""
    return store


def make_pipeline(db: Store, ruleset: RuleSet, settings: Settings, bus: EventBus) -> Pipeline:
    return Pipeline(
        db,
        lambda: ruleset,
        lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        bus,
        retention=timedelta(days=90),
    )


def story(**changes: object) -> Article:
    base = Article(
        id="story-1",
        feed="wire",
        title="Iranian proxies launch drone attack",
        link="https://news.example/story-1",
        published=NOW - timedelta(hours=2),
        content="Iranian proxies launched a drone attack on a base in Syria.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_events_flow_in_order_and_rows_are_written(
    db: Store, ruleset: RuleSet, settings: Settings
) -> None:
    bus = EventBus()
    seen: list[object] = []
    for kind in (ArticleDiscovered, RuleMatched, AlertQueued):
        bus.subscribe(kind, seen.append)
    result = await make_pipeline(db, ruleset, settings, bus).ingest([story()], now=NOW)
    assert [type(e).__name__ for e in seen] == ["ArticleDiscovered", "RuleMatched", "AlertQueued"]
    assert result.new == 1 and len(result.alerts) == 1
    queued = result.alerts[0]
    assert (queued.rule_id, queued.article_id) == ("drones", "story-1")
    assert queued.channels == ("mail-folder",)
    outbox = rows(db, "SELECT alert_id, channel, status FROM outbox")
    assert [tuple(r) for r in outbox] == [(queued.alert_id, "mail-folder", "pending")]


async def test_same_story_again_or_from_another_feed_is_not_matched_again(
    db: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = make_pipeline(db, ruleset, settings, EventBus())
    await pipeline.ingest([story()], now=NOW)
    again = await pipeline.ingest([story(), story(id="other-guid", feed="aggregator")], now=NOW)
    assert (again.new, again.changed, again.alerts) == (0, 0, [])
    assert len(rows(db, "SELECT * FROM alerts")) == 1


async def test_a_changed_story_alerts_only_for_newly_matching_rules(
    db: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = make_pipeline(db, ruleset, settings, EventBus())
    await pipeline.ingest([story()], now=NOW)
    edited = story(content=story().content + " Rockets were fired at the same base.")
    result = await pipeline.ingest([edited], now=NOW + timedelta(minutes=5))
    assert result.changed == 1
    assert [a.rule_id for a in result.alerts] == ["rockets"]
    assert sorted(r[0] for r in rows(db, "SELECT rule_id FROM alerts")) == ["drones", "rockets"]


async def test_backfill_and_retention_keep_old_stories_quiet(
    db: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = make_pipeline(db, ruleset, settings, EventBus())
    old = story(id="old", link=None, published=NOW - timedelta(days=3))
    first = await pipeline.ingest(
        [old], now=NOW, first_poll=True, backfill_after=NOW - timedelta(days=2)
    )
    assert first.new == 1 and first.alerts == []
    assert rows(db, "SELECT rule_id FROM matches WHERE article_id = 'old'")
    ancient = story(id="ancient", link=None, published=NOW - timedelta(days=400))
    later = await pipeline.ingest([ancient], now=NOW)
    assert later.new == 1 and later.alerts == []
    fresh = await pipeline.ingest([story(id="fresh", link=None)], now=NOW)
    assert len(fresh.alerts) == 1


async def test_a_huge_feed_is_ingested_in_bounded_transactions(
    db: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """Regression: a 100,000-entry feed was one 60-second transaction that locked everyone out."""
    from sqlalchemy import event

    commits = 0

    def counted(_conn: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine, "commit", counted)
    pipeline = Pipeline(
        db, lambda: ruleset, lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        EventBus(), retention=timedelta(days=90), chunk_size=10,
    )  # fmt: skip
    articles = [story(id=f"s{i}", link=f"https://news.example/{i}") for i in range(35)]
    result = await pipeline.ingest(articles, now=NOW)
    event.remove(db.engine, "commit", counted)
    assert result.new == 35 and commits == 4
    assert rows(db, "SELECT COUNT(*) FROM articles") == [(35,)]


async def test_concurrent_chunks_take_rule_locks_in_one_order(
    pg_url: str, tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: two chunk transactions locked the same rules in opposite orders and
    deadlocked on PostgreSQL (found by the scale-out benchmark)."""
    import time

    from monitor.store import open_store

    rules = "rules:\n" + "".join(
        f"  - {{id: r{i}, title: R{i}, severity: low, query: 'word{i}'}}\n" for i in range(6)
    )
    (tmp_path / "many.yaml").write_text(rules, encoding="utf-8")
    loaded = load_rules([tmp_path / "many.yaml"])
    assert loaded.ruleset is not None
    store = open_store(pg_url, lock_timeout=3)
    try:
        pipeline = Pipeline(
            store, lambda: loaded.ruleset,  # type: ignore[arg-type,return-value]
            lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
            EventBus(), retention=timedelta(days=90), chunk_size=50,
        )  # fmt: skip

        def batch(name: str, order: range) -> list[Article]:
            # article i matches one rule: the rules come in ascending or descending order
            return [
                story(id=f"{name}-{i}", feed=name, link=f"https://x/{name}/{i}",
                      title=f"{name} {i}", content=f"word{order[i % 6]}")
                for i in range(48)
            ]  # fmt: skip

        started = time.monotonic()
        results = await asyncio.gather(
            *(
                pipeline.ingest(batch(f"f{n}", range(6) if n % 2 else range(5, -1, -1)), now=NOW)
                for n in range(4)
            )
        )
        assert sum(len(r.alerts) for r in results) == 4 * 48
        assert time.monotonic() - started < 20
        assert "store busy" not in caplog.text  # no transaction was aborted and retried
    finally:
        store.close()
