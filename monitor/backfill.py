"""The log line that says why a new feed's older entries raised no alert.

On a feed's first poll, entries published more than ``fetch.backfill_hours`` ago are
recorded as seen without alerting (no flood of old news on first run). Without a word in
the log an analyst cannot tell "nothing matched" from "it was too old", nor which setting
to change; this line names the count, the threshold and the key.
"""

from __future__ import annotations

import math


def _hours(hours: float) -> str:
    """``48`` for 48.0, ``1.5`` for 1.5: the value as a person would write it in the config."""
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


def backfill_notice(feed: str, quiet_count: int, hours: float) -> str:
    """The message for ``quiet_count`` entries of ``feed`` older than ``hours`` (not alerted).

    The key is ``fetch.backfill_hours`` (or the feed's own ``backfill_hours``, which
    overrides it; ``-1`` alerts on every entry). The caller logs it only when
    ``quiet_count > 0``.
    """
    if quiet_count < 0:
        raise ValueError(f"quiet_count must be >= 0, got {quiet_count}")
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite number >= 0, got {hours}")
    entries = "entry" if quiet_count == 1 else "entries"
    return (
        f"feed {feed}: {quiet_count} {entries} older than {_hours(hours)} h recorded without"
        " alerting (fetch.backfill_hours)"
    )
