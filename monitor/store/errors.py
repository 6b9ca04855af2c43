"""Typed store errors: what went wrong is the ``kind``, the message says what to do."""

from __future__ import annotations

from typing import Literal

from monitor.errors import MonitorError

StoreErrorKind = Literal["url", "unavailable", "locked", "corrupt", "empty", "schema"]


class StoreError(MonitorError):
    """The store could not be opened, migrated or used."""

    def __init__(self, message: str, *, kind: StoreErrorKind = "unavailable") -> None:
        super().__init__(message)
        self.kind: StoreErrorKind = kind


class StoreBusy(StoreError):
    """Another process held the store's write lock for longer than the lock timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="locked")
