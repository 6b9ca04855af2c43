"""When to try a failed delivery again (pure)."""

from __future__ import annotations

import random

from monitor.notifiers.config import DeliveryConfig


def retry_delay(
    attempts: int,
    config: DeliveryConfig,
    rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """Seconds until the next attempt after ``attempts`` failed ones.

    A server's ``Retry-After`` is honoured exactly (capped by ``retry_after_max``); otherwise
    the delay doubles per attempt up to ``backoff_max``, with "equal jitter" (half fixed, half
    random) so that many rows failing together do not retry in lockstep.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), config.retry_after_max)
    ceiling = min(config.backoff_max, config.backoff_base * 2 ** max(attempts - 1, 0))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))
