"""When to poll a feed next: pure policy, so the scheduler stays dumb and testable.

Healthy feeds follow Miniflux's "entry frequency" scheduler: the interval is the
average gap between entries over the last week (a feed with 7 entries a week is
polled daily, one with 2,016 every 5 minutes), clamped to the configured bounds.
A feed that published nothing for a week is polled at the maximum interval. The
feed's own hints (RSS ``<ttl>``, ``Cache-Control: max-age``) are honoured: never
sooner than they ask, but never later than the maximum.

Failing feeds back off exponentially with jitter (so hundreds of feeds that fail
together do not retry together), and never retry sooner than ``Retry-After``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

FREQUENCY_WINDOW = timedelta(days=7)


def next_interval(
    *,
    base: int,
    recent_entry_times: Sequence[datetime],
    now: datetime,
    min_interval: int,
    max_interval: int,
    ttl_minutes: int | None = None,
    max_age: float | None = None,
) -> int:
    """Seconds until the next poll of a feed that was just fetched successfully.

    ``base`` is the feed's configured interval, used while there is no entry
    history to judge by (an empty ``recent_entry_times``). ``recent_entry_times``
    are the publication times of the feed's stored entries; only those in the
    week before ``now`` count.
    """
    if min_interval < 1 or max_interval < min_interval:
        raise ValueError(f"bad bounds: min_interval={min_interval}, max_interval={max_interval}")
    if not recent_entry_times:
        interval = float(base)
    else:
        window_start = now - FREQUENCY_WINDOW
        weekly = sum(1 for t in recent_entry_times if window_start <= t <= now)
        week = FREQUENCY_WINDOW.total_seconds()
        interval = week / weekly if weekly else float(max_interval)
    interval = min(max(interval, min_interval), max_interval)
    hinted = max((ttl_minutes or 0) * 60.0, max_age or 0.0)
    if hinted > interval:
        interval = min(hinted, max_interval)
    return round(interval)


def backoff_delay(
    failures: int,
    *,
    base: int,
    maximum: int,
    retry_after: float | None = None,
    rng: random.Random,
) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure (1 for the first).

    ``base * 2**(failures-1)`` capped at ``maximum``, with "equal jitter" (a random
    point in the upper half, so the delay still grows), and never less than the
    server's ``Retry-After`` (itself capped at ``maximum`` against absurd values).
    """
    if failures < 1:
        raise ValueError(f"failures must be at least 1, got {failures}")
    if base < 1 or maximum < 1:
        raise ValueError(f"bad bounds: base={base}, maximum={maximum}")
    exponent = min(failures - 1, 64)  # beyond this the cap applies anyway
    ceiling = min(float(maximum), base * math.pow(2.0, exponent))
    delay = ceiling / 2 + rng.uniform(0.0, ceiling / 2)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return min(delay, float(maximum))
