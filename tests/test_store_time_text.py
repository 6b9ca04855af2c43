"""SQLite's time text: the fast path reads exactly what the slow one did."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor.store.types import time_from_text, time_to_text


def test_times_round_trip_through_the_text_the_store_writes() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        value = datetime(1, 1, 1, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(0, 3 * 10**11), microseconds=rng.randrange(10**6)
        )
        assert time_from_text(time_to_text(value)) == value


def test_other_and_malformed_texts_read_as_before() -> None:
    assert time_from_text("2026-06-01T10:00:00Z") == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert time_from_text("2026-06-01T12:00:00+02:00") == datetime(2026, 6, 1, 10, tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert time_from_text("1-01-01T00:00:00.000000Z") == epoch  # written by an old version
    assert time_from_text("2026-13-01T00:00:00.000000Z") == epoch
    assert time_from_text("garbage") == epoch
