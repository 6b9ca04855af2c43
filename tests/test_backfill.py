"""The first-poll notice: old entries recorded without alerting are counted and explained."""

from __future__ import annotations

import pytest

from monitor.backfill import backfill_notice


def test_notice_names_the_feed_count_threshold_and_setting() -> None:
    assert backfill_notice("reuters-world", 55, 48.0) == (
        "feed reuters-world: 55 entries older than 48 h recorded without alerting"
        " (fetch.backfill_hours)"
    )


def test_one_entry_and_fractional_hours() -> None:
    assert backfill_notice("x", 1, 1.5).startswith("feed x: 1 entry older than 1.5 h recorded")


@pytest.mark.parametrize(("count", "hours"), [(-1, 48.0), (3, -1.0), (3, float("nan"))])
def test_nonsense_is_refused(count: int, hours: float) -> None:
    with pytest.raises(ValueError):
        backfill_notice("x", count, hours)
