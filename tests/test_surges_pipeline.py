"""Surge rules in the pipeline, on both backends: one alert per surge, listing its articles."""

from __future__ import annotations

import asyncio
import json
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
from monitor.rules import RuleSet, load_rules
from monitor.store import Store, open_store
from monitor.store.surges import SurgeStateConflict
from monitor.surges import SurgeState
from tests.conftest import MakeSettings, ruleset_from
from tests.stores import rows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = """
rules:
  - id: strait
    title: Strait of Hormuz closure
    severity: high
    query: 'Hormuz AND clos*'
    surge: {sources: 3, within: 2h}
  - id: drones
    title: Drone attacks
    query: 'drone*'
"""


@pytest.fixture
def ruleset(tmp_path: Path) -> RuleSet:
    return ruleset_from(tmp_path, RULES)


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(feeds=[], storm_threshold=1000)


def make_pipeline(db: Store, ruleset: RuleSet, settings: Settings) -> Pipeline:
    return Pipeline(
        db,
        lambda: ruleset,
        lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
        EventBus(),
        retention=timedelta(days=90),
    )


def news(feed: str, n: int, minutes: int, text: str = "Iran threatens to close Hormuz") -> Article:
    """Article ``n`` of ``feed``, published ``minutes`` after 08:00 on the test day."""
    return Article(
        id=f"{feed}-{n}",
        feed=feed,
        title=f"{text} ({feed} {n})",
        link=f"https://{feed}.example/{n}",
        published=NOW.replace(hour=8) + timedelta(minutes=minutes),
        content=f"{text}, officials said.",
    )


async def ingest(p: Pipeline, *articles: Article, now: datetime = NOW) -> list[str]:
    """Each feed's articles as one poll would bring them; the alert ids raised."""
    raised: list[str] = []
    by_feed: dict[str, list[Article]] = {}
    for a in articles:
        by_feed.setdefault(a.feed, []).append(a)
    for batch in by_feed.values():
        result = await p.ingest(batch, now=now)
        raised.extend(q.alert_id for q in result.alerts)
    return raised


def surge_alerts(db: Store) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in rows(db, "SELECT id, article_id FROM alerts WHERE rule_id = 'strait' ORDER BY id")
    ]


async def test_three_feeds_within_the_window_raise_one_alert_listing_the_articles(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    p = make_pipeline(store, ruleset, settings)
    assert await ingest(p, news("reuters", 1, 0), news("bbc", 1, 40)) == []
    raised = await ingest(p, news("ap", 1, 90))
    assert len(raised) == 1
    assert surge_alerts(store) == [(raised[0], "ap-1")]
    with store.read() as uow:
        alert = uow.alerts.load(raised[0])
        listed = uow.alerts.recent()
    assert alert is not None and alert.surge is not None
    assert alert.surge.feeds == ("reuters", "bbc", "ap")
    assert [a.id for a in alert.surge.articles] == ["reuters-1", "bbc-1", "ap-1"]
    assert alert.surge.total == 3
    assert alert.surge.start == news("ap", 1, 90).published
    assert alert.rule.surge is not None and alert.rule.surge.sources == 3
    assert [s.surge for s in listed] == [(3, 3)]
    outbox = rows(store, "SELECT alert_id FROM outbox")
    assert [r[0] for r in outbox] == raised


async def test_a_fourth_feed_and_more_articles_raise_nothing_more(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    p = make_pipeline(store, ruleset, settings)
    first = await ingest(p, news("reuters", 1, 0), news("bbc", 1, 10), news("ap", 1, 20))
    assert len(first) == 1
    assert await ingest(p, news("afp", 1, 30), news("reuters", 2, 50), news("bbc", 2, 100)) == []
    assert len(surge_alerts(store)) == 1
    # Every match is still recorded (only the alerts are per surge).
    assert len(rows(store, "SELECT * FROM matches WHERE rule_id = 'strait'")) == 6


async def test_the_window_slides_the_rule_rearms_and_fires_again(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    p = make_pipeline(store, ruleset, settings)
    first = await ingest(p, news("reuters", 1, 0), news("bbc", 1, 30), news("ap", 1, 60))
    # Still within 2 h of the others: the count stays at 3 or more, no new surge.
    assert await ingest(p, news("reuters", 2, 100)) == []
    # Sparse: nothing for hours, then three feeds again. Just before 14:00 the count was 0.
    second = await ingest(p, news("bbc", 2, 360), news("afp", 1, 370), news("ap", 2, 380))
    assert len(first) == len(second) == 1 and first != second
    assert len(surge_alerts(store)) == 2
    with store.read() as uow:
        alert = uow.alerts.load(second[0])
        state = uow.surges.state("strait")
    assert alert is not None and alert.surge is not None
    assert [a.id for a in alert.surge.articles] == ["bbc-2", "afp-1", "ap-2"]
    assert state.state == SurgeState(True, news("ap", 2, 380).published)


async def test_the_count_falling_between_matches_rearms_the_rule(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """The count fell below 3 at 10:00 (reuters-1 left the window) although no match came
    then; the next match that brings it back to 3 starts a new surge."""
    p = make_pipeline(store, ruleset, settings)
    assert len(await ingest(p, news("reuters", 1, 0), news("bbc", 1, 50), news("ap", 1, 60))) == 1
    # At 10:10 the window (08:10, 10:10] holds bbc and ap only: re-armed; afp makes 3 again.
    assert len(await ingest(p, news("afp", 1, 130))) == 1


async def test_three_articles_of_one_feed_are_no_surge(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    p = make_pipeline(store, ruleset, settings)
    assert (
        await ingest(p, news("reuters", 1, 0), news("reuters", 2, 5), news("reuters", 3, 9)) == []
    )
    assert await ingest(p, news("bbc", 1, 20)) == []
    assert surge_alerts(store) == []


async def test_a_surge_rule_raises_no_alert_per_article_but_other_rules_do(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    p = make_pipeline(store, ruleset, settings)
    both = news("reuters", 1, 0, text="Drones seen as Iran moves to close Hormuz")
    raised = await ingest(p, both)
    assert [r[0] for r in rows(store, "SELECT rule_id FROM alerts")] == ["drones"]
    assert len(raised) == 1


async def test_backfilled_articles_do_not_fire_a_surge_on_start(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """First polls bring a surge that happened before the backfill limit: no alert, and the
    rule stays quiet while that surge goes on; it fires for the next one."""
    p = make_pipeline(store, ruleset, settings)
    backfill_after = NOW - timedelta(hours=1)  # articles before 11:00 are quiet
    for feed in ("reuters", "bbc", "ap"):
        result = await p.ingest(
            [news(feed, 1, 120 + len(feed)), news(feed, 2, 150 + len(feed))],
            now=NOW, first_poll=True, backfill_after=backfill_after,
        )  # fmt: skip
        assert result.alerts == [] and result.quiet == 2
    assert surge_alerts(store) == []
    with store.read() as uow:
        assert uow.surges.state("strait").state.firing
    # A fresh article of a fourth feed while the count is still 3 or more: no alert.
    assert await ingest(p, news("afp", 1, 170)) == []
    # Later, after the window emptied, a new surge alerts.
    later = await ingest(p, news("bbc", 3, 400), news("ap", 3, 410), news("afp", 2, 420))
    assert len(later) == 1


async def test_a_late_article_completes_an_earlier_window(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """Feeds are polled at different times: an article published at 08:30 arrives after one
    published at 09:00; together with the 08:00 one they are three feeds within 2 h."""
    p = make_pipeline(store, ruleset, settings)
    assert await ingest(p, news("reuters", 1, 0), news("ap", 1, 60)) == []
    raised = await ingest(p, news("bbc", 1, 30))
    assert len(raised) == 1
    with store.read() as uow:
        alert = uow.alerts.load(raised[0])
    assert alert is not None and alert.surge is not None
    assert alert.surge.start == news("ap", 1, 60).published  # when the count reached 3
    assert alert.article.id == "ap-1"
    assert {a.id for a in alert.surge.articles} == {"reuters-1", "bbc-1", "ap-1"}


async def test_a_stale_state_write_is_refused_by_the_database(store: Store) -> None:
    with store.write() as uow:
        before = uow.surges.state("r")
        uow.surges.save("r", before, SurgeState(True, NOW), NOW)
    with store.write() as uow, pytest.raises(SurgeStateConflict):
        uow.surges.save("r", before, SurgeState(True, NOW + timedelta(hours=1)), NOW)
    with store.write() as uow:
        current = uow.surges.state("r")
        assert current.state == SurgeState(True, NOW) and current.version == 1
        uow.surges.save("r", current, SurgeState(False, NOW), NOW)
    with store.read() as uow:
        assert uow.surges.state("r").version == 2


def test_two_instances_completing_a_surge_at_once_fire_it_once(
    pg_url: str, settings: Settings, tmp_path: Path
) -> None:
    """Two instances (two stores, two threads) each bring the third feed's article at the
    same moment, for many rounds: exactly one surge alert per round."""
    rounds = 8
    ruleset = _round_rules(tmp_path, rounds)
    stores = [open_store(pg_url), open_store(pg_url)]
    try:
        pipelines = [make_pipeline(s, ruleset, settings) for s in stores]
        for i in range(rounds):
            asyncio.run(ingest(pipelines[0], news("reuters", i, 0, text=f"topic{i}")))
            raised = _at_once(
                [(pipelines[k], news(feed, i, 30, text=f"topic{i}")) for k, feed in enumerate("xy")]
            )
            assert sum(len(r) for r in raised) == 1, (i, raised)
        counts = rows(stores[0], "SELECT rule_id, count(*) FROM alerts GROUP BY rule_id")
        assert sorted(counts) == [(f"s{i}", 1) for i in range(rounds)]
    finally:
        for s in stores:
            s.close()


def _at_once(work: list[tuple[Pipeline, Article]]) -> list[list[str]]:
    """Each (pipeline, article) ingested on its own thread, all released together."""
    barrier = threading.Barrier(len(work))
    raised: list[list[str]] = [[] for _ in work]

    def run(k: int) -> None:
        barrier.wait()
        raised[k] = asyncio.run(ingest(work[k][0], work[k][1]))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return raised


async def test_pruned_articles_take_their_surge_rows_with_them(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    from tests.stores import execute

    p = make_pipeline(store, ruleset, settings)
    assert len(await ingest(p, news("reuters", 1, 0), news("bbc", 1, 10), news("ap", 1, 20))) == 1
    execute(store, "UPDATE outbox SET status = 'sent'")
    with store.write() as uow:
        assert uow.articles.prune(before=NOW + timedelta(days=1)) == 3
    for table in ("surges", "surge_matches", "alerts"):
        assert rows(store, f"SELECT count(*) FROM {table}") == [(0,)], table


async def test_a_rule_given_surge_later_counts_its_earlier_matches(
    store: Store, ruleset: RuleSet, settings: Settings, tmp_path: Path
) -> None:
    """The analyst turns a per-article rule into a surge rule: the matches it already had
    in the window count, so the next feed completes the surge."""
    plain = tmp_path / "plain.yaml"
    plain.write_text(RULES.replace("    surge: {sources: 3, within: 2h}\n", ""), "utf-8")
    before = load_rules([plain]).ruleset
    assert before is not None
    first = await ingest(make_pipeline(store, before, settings), news("reuters", 1, 0),
                         news("bbc", 1, 30))  # fmt: skip
    assert len(first) == 2  # per article
    raised = await ingest(make_pipeline(store, ruleset, settings), news("ap", 1, 60))
    assert len(raised) == 1
    with store.read() as uow:
        alert = uow.alerts.load(raised[0])
    assert alert is not None and alert.surge is not None
    assert alert.surge.feeds == ("reuters", "bbc", "ap")


async def test_a_surge_whose_article_had_an_alert_before_is_reported_not_lost_silently(
    store: Store, ruleset: RuleSet, settings: Settings, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    plain = tmp_path / "plain.yaml"
    plain.write_text(RULES.replace("    surge: {sources: 3, within: 2h}\n", ""), "utf-8")
    before = load_rules([plain]).ruleset
    assert before is not None
    assert len(await ingest(make_pipeline(store, before, settings), news("ap", 1, 60))) == 1
    late = await ingest(make_pipeline(store, ruleset, settings), news("reuters", 1, 0),
                        news("bbc", 1, 30))  # fmt: skip
    assert late == []
    assert "surge at 2026-11-25T09:00:00+00:00 not alerted: its last article ap-1" in caplog.text


# -- the same article carried by several feeds -----------------------------------------------


def carried_by(article: Article, feed: str, **changes: object) -> Article:
    """``article`` as another feed carries it (the same guid unless ``changes`` say not)."""
    return replace(article, feed=feed, **changes)  # type: ignore[arg-type]


async def test_one_wire_article_in_three_feeds_is_a_surge_of_three_feeds(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """Regression: a second and third feed carrying the very same article (same guid) were
    not counted — the article was known, so the pipeline stopped before counting — and the
    surge never came."""
    p = make_pipeline(store, ruleset, settings)
    wire = news("wire", 1, 0)
    assert await ingest(p, wire) == []
    assert await ingest(p, carried_by(wire, "bbc")) == []
    raised = await ingest(p, carried_by(wire, "ap"))
    assert len(raised) == 1
    with store.read() as uow:
        alert = uow.alerts.load(raised[0])
        listed = uow.alerts.recent()
    assert alert is not None and alert.surge is not None
    assert sorted(alert.surge.feeds) == ["ap", "bbc", "wire"]
    assert [a.id for a in alert.surge.articles] == ["wire-1"]  # the article once
    assert alert.surge.total == 1 and alert.article.id == "wire-1"
    assert alert.hits  # the article's own match
    assert [s.surge for s in listed] == [(3, 1)]  # 3 feeds, 1 article
    members = rows(store, "SELECT article_id, feed FROM surge_matches ORDER BY feed")
    assert members == [("wire-1", "ap"), ("wire-1", "bbc"), ("wire-1", "wire")]


async def test_the_same_story_under_one_canonical_link_counts_once_per_feed(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """Other guids, the same link (tracking parameters aside) and title: one stored article
    that three feeds carried."""
    p = make_pipeline(store, ruleset, settings)
    wire = news("wire", 1, 0)
    copies = [
        carried_by(wire, feed, id=f"{feed}-guid", link=f"{wire.link}?utm_source={feed}")
        for feed in ("bbc", "ap")
    ]
    assert await ingest(p, wire, copies[0]) == []
    assert len(await ingest(p, copies[1])) == 1
    assert rows(store, "SELECT count(*) FROM articles") == [(1,)]


async def test_a_feed_polled_again_with_the_same_article_counts_once(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    p = make_pipeline(store, ruleset, settings)
    wire = news("wire", 1, 0)
    for _ in range(3):  # each feed polled three times: still two feeds
        assert await ingest(p, wire, carried_by(wire, "bbc")) == []
    assert rows(store, "SELECT count(*) FROM surge_matches") == [(2,)]
    assert len(await ingest(p, carried_by(wire, "ap"))) == 1
    with store.read() as uow:
        version = uow.surges.state("strait").version
    for _ in range(3):  # and the surge is raised once
        assert await ingest(p, wire, carried_by(wire, "bbc"), carried_by(wire, "ap")) == []
    assert rows(store, "SELECT count(*) FROM surge_matches") == [(3,)]
    assert len(surge_alerts(store)) == 1
    with store.read() as uow:
        assert uow.surges.state("strait").version == version  # nothing evaluated again


async def test_a_copy_in_a_feed_the_rule_does_not_watch_does_not_count(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "limited.yaml"
    path.write_text(
        "rules:\n  - {id: strait, title: S, query: 'Hormuz', feeds: [wire, bbc, ap],"
        " surge: {sources: 3, within: 2h}}\n",
        encoding="utf-8",
    )
    limited = load_rules([path]).ruleset
    assert limited is not None
    p = make_pipeline(store, limited, settings)
    wire = news("wire", 1, 0)
    assert await ingest(p, wire, carried_by(wire, "bbc"), carried_by(wire, "blog")) == []
    assert len(await ingest(p, carried_by(wire, "ap"))) == 1
    with store.read() as uow:
        alert = uow.alerts.load(surge_alerts(store)[0][0])
    assert alert is not None and alert.surge is not None
    assert sorted(alert.surge.feeds) == ["ap", "bbc", "wire"]  # not the blog


async def test_a_new_feeds_backfilled_copy_counts_but_raises_no_alert(
    store: Store, ruleset: RuleSet, settings: Settings
) -> None:
    """A copy on a feed's first poll, older than its backfill limit, is counted like any
    quiet article: the surge it completes is taken as known (the rule is firing)."""
    p = make_pipeline(store, ruleset, settings)
    wire = news("wire", 1, 0)
    assert await ingest(p, wire, carried_by(wire, "bbc")) == []
    result = await p.ingest([carried_by(wire, "ap")], now=NOW, first_poll=True,
                            backfill_after=NOW - timedelta(hours=1))  # fmt: skip
    assert result.alerts == []
    with store.read() as uow:
        assert uow.surges.state("strait").state == SurgeState(True, wire.published)


@pytest.mark.parametrize("same_guid", [True, False], ids=["same-guid", "same-link"])
def test_three_feeds_bringing_one_wire_article_at_once_from_two_instances_fire_once(
    pg_url: str, settings: Settings, tmp_path: Path, same_guid: bool
) -> None:
    """Three feeds carry one wire article under the same link, polled at the same moment by
    two instances (three threads, two stores), for several rounds: one surge per round,
    listing the three feeds."""
    rounds = 6
    ruleset = _round_rules(tmp_path, rounds)
    stores = [open_store(pg_url), open_store(pg_url)]
    try:
        pipelines = [make_pipeline(s, ruleset, settings) for s in stores]
        for i in range(rounds):
            wire = news("wire", i, 30, text=f"topic{i}")
            copies = [
                carried_by(wire, feed, id=wire.id if same_guid else f"{feed}-{i}",
                           link=f"{wire.link}?utm_source={feed}")
                for feed in ("wire", "bbc", "ap")
            ]  # fmt: skip
            raised = _at_once([(pipelines[k % 2], c) for k, c in enumerate(copies)])
            assert sum(len(r) for r in raised) == 1, (i, raised)
            feeds = rows(stores[0], "SELECT feeds FROM surges WHERE rule_id = :r", {"r": f"s{i}"})
            assert [sorted(json.loads(f[0])) for f in feeds] == [["ap", "bbc", "wire"]]
        counts = rows(stores[0], "SELECT rule_id, count(*) FROM alerts GROUP BY rule_id")
        assert sorted(counts) == [(f"s{i}", 1) for i in range(rounds)]
        members = rows(stores[0], "SELECT count(*) FROM surge_matches")
        assert members == [(3 * rounds,)]
    finally:
        for s in stores:
            s.close()


def _round_rules(directory: Path, rounds: int) -> RuleSet:
    """One surge rule per round (3 feeds within 2h), each on its own topic word."""
    return ruleset_from(
        directory,
        "rules:\n"
        + "".join(
            f"  - {{id: s{i}, title: S{i}, query: 'topic{i}', surge: {{sources: 3, within: 2h}}}}\n"
            for i in range(rounds)
        ),
    )
