"""Polling policy: entry frequency within bounds, feed hints honoured, backoff with jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.sources.polling import backoff_delay, next_interval

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BOUNDS = {"min_interval": 300, "max_interval": 6 * 3600}


def entries(count: int, span: timedelta = timedelta(days=7)) -> list[datetime]:
    return [NOW - span * (i + 0.5) / count for i in range(count)]


def test_no_history_uses_the_configured_interval() -> None:
    assert next_interval(base=900, recent_entry_times=[], now=NOW, **BOUNDS) == 900


def test_busy_feed_is_polled_more_often_down_to_the_minimum() -> None:
    week = 7 * 24 * 3600
    assert next_interval(base=900, recent_entry_times=entries(100), now=NOW, **BOUNDS) == round(
        week / 100
    )
    assert next_interval(base=900, recent_entry_times=entries(5000), now=NOW, **BOUNDS) == 300


def test_rare_feed_is_polled_less_often_up_to_the_maximum() -> None:
    assert next_interval(base=900, recent_entry_times=entries(3), now=NOW, **BOUNDS) == 6 * 3600
    old = [NOW - timedelta(days=30)]
    assert next_interval(base=900, recent_entry_times=old, now=NOW, **BOUNDS) == 6 * 3600


def test_future_and_old_entries_do_not_count() -> None:
    times = [*entries(100), NOW + timedelta(days=1), NOW - timedelta(days=8)]
    assert next_interval(base=900, recent_entry_times=times, now=NOW, **BOUNDS) == round(
        7 * 24 * 3600 / 100
    )


def test_ttl_and_max_age_are_never_undercut_but_capped() -> None:
    busy = entries(5000)
    assert (
        next_interval(base=900, recent_entry_times=busy, now=NOW, ttl_minutes=60, **BOUNDS) == 3600
    )
    assert (
        next_interval(base=900, recent_entry_times=busy, now=NOW, max_age=1800.0, **BOUNDS) == 1800
    )
    assert (
        next_interval(base=900, recent_entry_times=busy, now=NOW, ttl_minutes=60 * 24 * 7, **BOUNDS)
        == 6 * 3600
    )
    # a hint shorter than the computed interval changes nothing
    assert next_interval(base=900, recent_entry_times=[], now=NOW, ttl_minutes=1, **BOUNDS) == 900


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        next_interval(base=900, recent_entry_times=[], now=NOW, min_interval=600, max_interval=300)


@given(
    base=st.integers(1, 10**6),
    count=st.integers(0, 3000),
    ttl=st.none() | st.integers(0, 10**6),
    max_age=st.none() | st.floats(0, 1e7),
)
def test_interval_always_within_bounds(
    base: int, count: int, ttl: int | None, max_age: float | None
) -> None:
    value = next_interval(
        base=base,
        recent_entry_times=entries(count),
        now=NOW,
        ttl_minutes=ttl,
        max_age=max_age,
        **BOUNDS,
    )
    assert 300 <= value <= 6 * 3600


def test_backoff_grows_exponentially_with_jitter_in_the_upper_half() -> None:
    rng = random.Random(7)
    for failures, ceiling in ((1, 60), (2, 120), (3, 240), (10, 3600)):
        for _ in range(50):
            delay = backoff_delay(failures, base=60, maximum=3600, rng=rng)
            assert ceiling / 2 <= delay <= ceiling


def test_backoff_jitter_spreads_retries() -> None:
    rng = random.Random(1)
    delays = {round(backoff_delay(4, base=60, maximum=3600, rng=rng), 3) for _ in range(20)}
    assert len(delays) > 10


def test_backoff_honours_retry_after_up_to_the_maximum() -> None:
    rng = random.Random(3)
    assert backoff_delay(1, base=60, maximum=3600, retry_after=900.0, rng=rng) == 900.0
    assert backoff_delay(1, base=60, maximum=3600, retry_after=10**9, rng=rng) == 3600.0
    assert backoff_delay(1, base=60, maximum=3600, retry_after=1.0, rng=rng) >= 30


def test_backoff_with_a_base_above_the_maximum_is_capped() -> None:
    assert backoff_delay(1, base=86400, maximum=3600, rng=random.Random(0)) <= 3600


def test_backoff_survives_huge_failure_counts_and_refuses_zero() -> None:
    assert backoff_delay(10**6, base=60, maximum=3600, rng=random.Random(0)) <= 3600
    with pytest.raises(ValueError):
        backoff_delay(0, base=60, maximum=3600, rng=random.Random(0))
