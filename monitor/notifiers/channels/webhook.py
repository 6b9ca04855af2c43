"""Signed JSON POSTs (Standard Webhooks headers), with the answer classified for retries."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor import __version__
from monitor.notifiers.channels.base import Item
from monitor.notifiers.config import WebhookChannel
from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.sanitize import header_text
from monitor.notifiers.signing import secret_key, sign
from monitor.notifiers.templates import Templates

RETRYABLE_STATUS = frozenset({408, 429})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class WebhookSender:
    def __init__(self, name: str, config: WebhookChannel, templates: Templates) -> None:
        self.name = name
        self.config = config
        self.templates = templates
        self._key: bytes | None = None
        if config.secret is not None:
            try:
                self._key = secret_key(config.secret.get_secret_value())
            except ValueError as exc:
                raise NotifierConfigError(f"channels.{name}.secret: {exc}") from exc
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created in the running loop, on first use
            self._client = httpx.AsyncClient(
                timeout=self.config.timeout,
                follow_redirects=False,
                headers={"user-agent": f"news-monitor/{__version__}"},
            )
        return self._client

    def headers(self, item: Item, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        headers = {
            **self.config.headers,
            "content-type": "application/json",
            "webhook-id": item.id,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, item.id, timestamp, body)
        return headers

    async def send(self, item: Item, outbox_id: str) -> None:
        body = self.templates.webhook_body(self.config.format, item)
        try:
            response = await self._http().post(
                self.config.url, content=body, headers=self.headers(item, body)
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"POST {self.config.url}: timed out ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST {self.config.url}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = header_text(response.text, max_length=200)
        reason = f"HTTP {status} from {self.config.url}" + (f": {detail}" if detail else "")
        if status in RETRYABLE_STATUS or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise DeliveryError(reason, retry_after=retry_after)
        raise DeliveryError(reason, permanent=True)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
