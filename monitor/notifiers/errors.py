"""Errors of the notifiers: bad configuration (fail the start) and failed deliveries."""

from __future__ import annotations


class NotifierConfigError(ValueError):
    """A template or channel setting is broken; the message names the file/key and line."""


class DeliveryError(Exception):
    """One delivery attempt failed.

    ``permanent`` failures (a 4xx answer, a rejected recipient, a broken template) are not
    retried; others are, after ``retry_after`` seconds when the server asked for a delay.
    """

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
