"""The one clock: aware UTC times everywhere (tests pass their own ``now``)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
