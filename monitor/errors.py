"""The one base of the monitor's own errors: callers branch on type and ``kind``, not text."""

from __future__ import annotations


class MonitorError(Exception):
    """An error the monitor reports to its user with a clear message (no traceback)."""
