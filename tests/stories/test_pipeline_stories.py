"""One alert per story, through the pipeline, on both backends (real SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.bus import EventBus
from monitor.config import Settings
from monitor.models import Article
from monitor.notifiers.routing import enqueue_alert
from monitor.pipeline import Pipeline
from monitor.rules import RuleSet
from monitor.store import Store, open_store
from monitor.stories import StoriesConfig
from monitor.stories.folding import StoryFolder
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
  - id: alpha
    title: Alpha
    severity: low
    query: 'alphaword'
"""
WIRE = Article(
    id="wire-1",
    feed="wire",
    title="Iranian proxies launch drone attack on U.S. base in eastern Syria",
    link="https://wire.example/world/1",
    published=NOW - timedelta(minutes=10),
    summary=(
        "Iran-backed militias launched a drone attack on a base housing U.S. troops in eastern "
        "Syria on Tuesday, a Pentagon spokesman said, the third such attack this week."
    ),
)
COPY = replace(
    WIRE,
    id="https://outlet.example/2026/11/25/iran-drones?utm_source=wire",
    feed="outlet",
    title="Iranian proxies launch drone attack on US base in Syria | Outlet",
    link="https://outlet.example/2026/11/25/iran-drones?utm_source=wire",
    summary="BEIRUT (Outlet) - " + WIRE.summary + " Read more at Outlet.",
)
OTHER = replace(
    WIRE,
    id="wire-2",
    title="Iranian drone attack hits oil tanker in the Gulf of Oman",
    link="https://wire.example/world/2",
    summary="An oil tanker was damaged by what its operator called an Iranian drone attack "
    "off the coast of Oman early on Wednesday; the crew of 22 was unharmed.",
)


@pytest.fixture
def ruleset(tmp_path: Path) -> RuleSet:
    return ruleset_from(tmp_path, RULES)


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(feeds=[])


def pipeline_for(
    db: Store, ruleset: RuleSet, settings: Settings, config: StoriesConfig | None = None
) -> Pipeline:
    return Pipeline(
        db,
        lambda: ruleset,
        lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        EventBus(),
        retention=timedelta(days=90),
        stories=StoryFolder(config or StoriesConfig()),
    )


async def test_a_second_outlets_copy_joins_the_story_and_raises_no_alert(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = pipeline_for(store, ruleset, settings)
    first = await pipeline.ingest([WIRE], now=NOW)
    assert [a.rule_id for a in first.alerts] == ["drones"]
    later = await pipeline.ingest([COPY], now=NOW + timedelta(minutes=30))
    assert later.new == 1 and later.alerts == []
    # its match is recorded as usual; the story holds both articles
    assert sorted(rows(store, "SELECT rule_id, article_id FROM matches")) == [
        ("drones", COPY.id),
        ("drones", WIRE.id),
    ]
    assert sorted(rows(store, "SELECT article_id, story_id FROM story_articles")) == [
        (COPY.id, WIRE.id),
        (WIRE.id, WIRE.id),
    ]
    # every source is listed: by the alert, and by `monitor alerts list`
    with store.read() as uow:
        alert = uow.alerts.load(first.alerts[0].alert_id)
        summary = uow.alerts.recent()
    assert alert is not None and alert.other_feeds == ("outlet",)
    assert [s.sources for s in summary] == [("wire", "outlet")]


async def test_a_different_story_alerts_and_a_copy_alerts_for_a_rule_it_newly_matches(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = pipeline_for(store, ruleset, settings)
    await pipeline.ingest([WIRE], now=NOW)
    other = await pipeline.ingest([OTHER], now=NOW + timedelta(minutes=1))
    assert [a.article_id for a in other.alerts] == [OTHER.id]
    rockets = replace(COPY, summary=COPY.summary + " Rockets were also fired at the base.")
    later = await pipeline.ingest([rockets], now=NOW + timedelta(minutes=2))
    assert [a.rule_id for a in later.alerts] == ["rockets"]
    assert len(rows(store, "SELECT id FROM stories")) == 2


async def test_copies_in_one_chunk_fold_too(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    result = await pipeline_for(store, ruleset, settings).ingest([WIRE, COPY, OTHER], now=NOW)
    assert sorted(a.article_id for a in result.alerts) == sorted([WIRE.id, OTHER.id])


async def test_outside_the_window_a_copy_alerts_again(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = pipeline_for(store, ruleset, settings, StoriesConfig(window_hours=6))
    await pipeline.ingest([WIRE], now=NOW)
    later = await pipeline.ingest([COPY], now=NOW + timedelta(hours=7))
    assert [a.article_id for a in later.alerts] == [COPY.id]


async def test_housekeeping_prunes_band_keys_out_of_the_window(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = pipeline_for(store, ruleset, settings)
    await pipeline.ingest([WIRE], now=NOW)
    await pipeline.ingest([OTHER], now=NOW + timedelta(hours=20))
    with store.write() as uow:
        pruned = uow.stories.prune_bands(before=NOW + timedelta(hours=1))
    assert pruned > 0
    assert {r[0] for r in rows(store, "SELECT story_id FROM story_bands")} == {OTHER.id}
    # a copy of the pruned story starts a story of its own, and alerts
    later = await pipeline.ingest([COPY], now=NOW + timedelta(hours=21))
    assert [a.article_id for a in later.alerts] == [COPY.id]


async def test_without_stories_every_copy_alerts(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = Pipeline(
        store,
        lambda: ruleset,
        lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        EventBus(),
        retention=timedelta(days=90),
    )
    await pipeline.ingest([WIRE], now=NOW)
    later = await pipeline.ingest([COPY], now=NOW + timedelta(minutes=1))
    assert [a.article_id for a in later.alerts] == [COPY.id]
    assert rows(store, "SELECT * FROM stories") == []


async def test_short_or_empty_articles_are_never_folded(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    pipeline = pipeline_for(store, ruleset, settings)
    a = replace(WIRE, id="a", title="alphaword", summary="")
    b = replace(WIRE, id="b", feed="outlet", title="alphaword", summary="", link=None)
    result = await pipeline.ingest([a, b], now=NOW)
    assert sorted(x.article_id for x in result.alerts) == ["a", "b"]


async def test_hostile_articles_do_not_stop_the_others(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    huge = replace(
        OTHER, id="huge", title="Iranian drone attack " + "x" * 5_000_000, summary="y " * 2_000_000
    )
    blank = replace(WIRE, id="blank", title="", summary="", content="", link=None)
    arabic = replace(
        WIRE,
        id="ar",
        feed="arabic",
        title="هجوم بطائرة مسيرة إيرانية على قاعدة أمريكية في سوريا",
        summary="شنت فصائل مدعومة من إيران هجوما بطائرة مسيرة على قاعدة تضم قوات أمريكية",
    )
    result = await pipeline_for(store, ruleset, settings).ingest(
        [huge, blank, arabic, WIRE], now=NOW
    )
    assert result.new == 4
    assert [a.article_id for a in result.alerts] == ["huge", WIRE.id]


def _pair(i: int) -> tuple[Article, Article]:
    rng = random.Random(i)
    vocab = [f"w{n}" for n in range(3000)]
    title = " ".join(rng.sample(vocab, 8))
    lede = " ".join(rng.sample(vocab, 30)) + " alphaword"
    a = replace(WIRE, id=f"a-{i}", feed="wire-a", link=None, title=title, summary=lede)
    b = replace(a, id=f"b-{i}", feed="wire-b", title=title + " update", summary=lede + " more")
    return a, b


def test_two_instances_ingesting_copies_at_once_make_one_story_each(
    store_url: str, ruleset: RuleSet, settings: Settings
) -> None:
    """Each instance has its own store connection pool; copies of 30 stories arrive at both
    at the same moment. Whoever wins, every story is made once and alerts once."""
    import asyncio

    pairs = [_pair(i) for i in range(30)]
    stores = [open_store(store_url), open_store(store_url)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def instance(n: int) -> None:
        try:
            pipeline = pipeline_for(stores[n], ruleset, settings)
            barrier.wait()
            for pair in pairs:
                asyncio.run(pipeline.ingest([pair[n]], now=NOW))
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=instance, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(rows(stores[0], "SELECT id FROM stories")) == 30
        assert len(rows(stores[0], "SELECT id FROM alerts WHERE rule_id = 'alpha'")) == 30
        assert len(rows(stores[0], "SELECT article_id FROM story_articles")) == 60
    finally:
        for s in stores:
            s.close()
