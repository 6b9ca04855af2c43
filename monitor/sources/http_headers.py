"""Pure parsing of the HTTP response headers that steer polling."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-store|no-cache)(?:$|[,\s=])", re.IGNORECASE)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from ``Retry-After``: a delay in seconds or an HTTP date.

    Unparseable values give None (the caller's own backoff applies); dates in the
    past give 0.
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` from ``Cache-Control`` in seconds; None when absent or when caching is
    forbidden (``no-store``/``no-cache`` say nothing about how often to poll)."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    found = _MAX_AGE.search(cache_control)
    if not found:
        return None
    return float(int(found.group(1)))


def http_date(when: datetime) -> str:
    """An RFC 9110 date (``Sun, 06 Nov 1994 08:49:37 GMT``) for Last-Modified values."""
    return format_datetime(when.astimezone(UTC), usegmt=True)
