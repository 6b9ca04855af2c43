"""The surge core alone (pure): counting distinct feeds in a sliding window of published time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Surge
from monitor.surges import (
    Member,
    Replay,
    SurgeState,
    duration_text,
    evaluate,
    needed_span,
    surge_alert_id,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TWO_HOURS = Surge(3, timedelta(hours=2))


def m(i: int, feed: str, minutes: float) -> Member:
    return Member(f"a{i}", feed, T0 + timedelta(minutes=minutes))


def replay(surge: Surge, members: list[Member]) -> list[tuple[datetime, tuple[str, ...]]]:
    r = Replay({"r": surge})
    out = []
    for member in sorted(members, key=lambda x: (x.published, x.article_id)):
        out.extend((e.start, e.feeds) for e in r.add("r", member))
    return out


def carried(rng: random.Random, feeds: str, n: int, span: int) -> list[Member]:
    """``n`` articles, each carried by one to three feeds under the same id and published
    time (a wire article in several outlets), some given twice (a feed polled again)."""
    out: list[Member] = []
    for i in range(n):
        at = T0 + timedelta(minutes=rng.randrange(0, span, 5))
        for feed in rng.sample(feeds, min(len(feeds), rng.choice([1, 1, 2, 3]))):
            out.append(Member(f"a{i}", feed, at))
            if rng.random() < 0.1:
                out.append(Member(f"a{i}", feed, at))
    return out


def reference(surge: Surge, members: list[Member]) -> list[datetime]:
    """The definition, by brute force: at each match time, the count just before (strictly
    earlier matches) re-arms the rule when below N; the count at it starts a surge."""
    firing, starts = False, []
    for p in sorted({x.published for x in members}):
        before = {x.feed for x in members if p - surge.within < x.published < p}
        at = {x.feed for x in members if p - surge.within < x.published <= p}
        if firing and len(before) < surge.sources:
            firing = False
        if not firing and len(at) >= surge.sources:
            firing = True
            starts.append(p)
    return starts


def test_three_feeds_within_the_window_start_one_surge() -> None:
    got = replay(TWO_HOURS, [m(1, "reuters", 0), m(2, "bbc", 40), m(3, "ap", 90), m(4, "afp", 95)])
    assert got == [(T0 + timedelta(minutes=90), ("reuters", "bbc", "ap"))]


def test_the_window_is_open_at_its_start() -> None:
    """(t - within, t]: an article exactly 2 h older than t has left the window at t."""
    assert replay(TWO_HOURS, [m(1, "a", 0), m(2, "b", 60), m(3, "c", 120)]) == []
    assert replay(TWO_HOURS, [m(1, "a", 0.5), m(2, "b", 60), m(3, "c", 120)]) != []


def test_one_feed_many_articles_is_no_surge() -> None:
    assert replay(TWO_HOURS, [m(i, "reuters", i) for i in range(50)]) == []


def test_simultaneous_articles_of_three_feeds_start_a_surge_at_that_time() -> None:
    got = replay(TWO_HOURS, [m(1, "a", 10), m(2, "b", 10), m(3, "c", 10)])
    assert [start for start, _ in got] == [T0 + timedelta(minutes=10)]


def test_rearmed_only_after_the_count_falls_below_the_threshold() -> None:
    steady = [m(i, "abc"[i % 3], i * 30) for i in range(20)]  # three feeds, never a gap
    assert len(replay(TWO_HOURS, steady)) == 1
    gap = [*steady, *(m(100 + i, "abc"[i % 3], 20 * 30 + 300 + i) for i in range(3))]
    assert len(replay(TWO_HOURS, gap)) == 2


@pytest.mark.parametrize("seed", range(40))
def test_in_order_replay_is_the_definition(seed: int) -> None:
    rng = random.Random(seed)
    surge = Surge(rng.choice([2, 3, 4]), timedelta(minutes=rng.choice([30, 60, 120])))
    members = [
        m(i, rng.choice("abcdef"[: rng.randint(2, 6)]), rng.randrange(0, 24 * 60, 5))
        for i in range(rng.randint(1, 120))
    ]
    assert [start for start, _ in replay(surge, members)] == reference(surge, members)


def test_one_article_carried_by_three_feeds_counts_three_feeds() -> None:
    """Regression: the same article (one id) in three feeds counted for its first feed only."""
    wire = [Member("wire-1", feed, T0) for feed in ("reuters", "bbc", "ap")]
    got = replay(TWO_HOURS, wire)
    assert got == [(T0, ("ap", "bbc", "reuters"))]
    (episode,) = evaluate(TWO_HOURS, SurgeState(), wire, [T0]).episodes
    assert episode.article_ids == ("wire-1",)
    assert [x.article_id for x in episode.listed()] == ["wire-1"]  # listed once
    assert episode.carriers("wire-1") == ("ap", "bbc", "reuters")


def test_a_feed_giving_the_same_article_again_counts_once() -> None:
    polled_again = [m(1, "reuters", 0), m(1, "reuters", 0), m(2, "bbc", 10), m(2, "bbc", 10)]
    assert replay(TWO_HOURS, polled_again) == []
    assert replay(TWO_HOURS, [*polled_again, m(3, "ap", 20)]) != []


@pytest.mark.parametrize("seed", range(40))
def test_articles_carried_by_several_feeds_replay_as_the_definition(seed: int) -> None:
    rng = random.Random(seed)
    surge = Surge(rng.choice([2, 3, 4]), timedelta(minutes=rng.choice([30, 60, 120])))
    members = carried(rng, "abcdef"[: rng.randint(2, 6)], rng.randint(1, 80), 24 * 60)
    assert [start for start, _ in replay(surge, members)] == reference(surge, members)


@pytest.mark.parametrize("seed", range(40))
def test_an_articles_feeds_added_together_give_the_definition(seed: int) -> None:
    """As the backtest does: every feed that carried an article, in one call."""
    rng = random.Random(seed)
    members = carried(rng, "abcde", 60, 12 * 60)
    by_article: dict[str, list[Member]] = {}
    for x in sorted(members, key=lambda x: (x.published, x.article_id)):
        by_article.setdefault(x.article_id, []).append(x)
    r, starts = Replay({"r": TWO_HOURS}), []
    for group in by_article.values():
        starts.extend(e.start for e in r.add("r", *group))
    assert starts == reference(TWO_HOURS, members)


@pytest.mark.parametrize("seed", range(40))
def test_chunks_in_order_give_the_same_surges_as_one_by_one(seed: int) -> None:
    """The pipeline evaluates a chunk of a feed's new matches at once, against the stored ones."""
    rng = random.Random(seed)
    single = [m(i, rng.choice("abcd"), rng.randrange(0, 12 * 60, 3)) for i in range(80)]
    members = sorted(
        single if seed % 2 else carried(rng, "abcd", 50, 12 * 60),
        key=lambda x: (x.published, x.article_id),
    )
    state, known, starts = SurgeState(), list[Member](), []
    i = 0
    while i < len(members):
        chunk = members[i : i + rng.randint(1, 6)]
        i += len(chunk)
        known.extend(chunk)
        out = evaluate(TWO_HOURS, state, known, [c.published for c in chunk])
        state = out.state
        starts.extend(e.start for e in out.episodes)
    assert starts == reference(TWO_HOURS, members)


@pytest.mark.parametrize("seed", range(40))
def test_any_arrival_order_finds_a_surge_exactly_when_there_is_one(seed: int) -> None:
    """Feeds are polled at different times, so matches arrive out of published order: a surge
    is still found (a late article can complete an earlier window), and none is invented."""
    rng = random.Random(seed)
    if seed % 2:
        members = [m(i, rng.choice("abcd"), rng.randrange(0, 8 * 60, 7)) for i in range(12)]
    else:  # an article's feeds arrive at different times, some twice
        members = carried(rng, "abcd", 8, 8 * 60)
    arrival = members[:]
    rng.shuffle(arrival)
    state, known, starts = SurgeState(), list[Member](), []
    for member in arrival:
        known.append(member)
        lo, hi = needed_span(TWO_HOURS, [member.published])
        window = [k for k in known if lo < k.published <= hi]
        out = evaluate(TWO_HOURS, state, window, [member.published])
        state = out.state
        starts.extend(e.start for e in out.episodes)
    expected = reference(TWO_HOURS, members)
    assert bool(starts) == bool(expected)
    assert len(starts) == len(set(starts))
    for start in starts:  # each surge is real in the final data
        window = {x.feed for x in members if start - TWO_HOURS.within < x.published <= start}
        assert len(window) >= TWO_HOURS.sources


def test_a_late_article_never_rearms_a_firing_rule() -> None:
    """The surge started at 09:00 and the count never fell; an article published at 06:00
    (the count was 1 then) arrives late: no second surge."""
    known = [m(1, "a", 0), m(2, "b", 30), m(3, "c", 60)]
    first = evaluate(TWO_HOURS, SurgeState(), known, [T0 + timedelta(minutes=60)])
    assert len(first.episodes) == 1
    late = m(4, "d", -120)
    again = evaluate(TWO_HOURS, first.state, [*known, late], [late.published])
    assert again.episodes == () and again.state == first.state


def test_listed_members_show_every_feed_first_then_by_time() -> None:
    known = [m(i, "a", i) for i in range(60)] + [m(100, "b", 61), m(101, "c", 62)]
    (episode,) = evaluate(TWO_HOURS, SurgeState(), known, [T0 + timedelta(minutes=62)]).episodes
    listed = episode.listed(5)
    assert [x.article_id for x in listed] == ["a0", "a1", "a2", "a100", "a101"]
    assert len(episode.members) == 62 and episode.trigger.article_id == "a101"


def test_alert_ids_are_deterministic_per_rule_and_start() -> None:
    assert surge_alert_id("r", T0) == surge_alert_id("r", T0)
    assert surge_alert_id("r", T0) != surge_alert_id("r", T0 + timedelta(seconds=1))
    assert surge_alert_id("r", T0) != surge_alert_id("q", T0)


def test_durations_read_as_they_are_written() -> None:
    assert [duration_text(timedelta(seconds=s)) for s in (7200, 5400, 86400, 45, 3600 * 36)] == [
        "2h",
        "90m",
        "1d",
        "45s",
        "36h",
    ]
