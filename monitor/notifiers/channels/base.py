"""What every channel provides."""

from __future__ import annotations

from typing import Protocol

from monitor.notifiers.views import AlertView, DigestView

Item = AlertView | DigestView


class Channel(Protocol):
    name: str

    async def send(self, item: Item, outbox_id: str) -> None:
        """Deliver once; raise :class:`monitor.notifiers.errors.DeliveryError` on failure."""

    async def aclose(self) -> None:
        """Release connections; the channel is not used afterwards."""
