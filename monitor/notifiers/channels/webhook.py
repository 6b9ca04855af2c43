"""Signed JSON POSTs (Standard Webhooks headers), with the answer classified for retries.

The URL is a credential (Slack/Teams/Discord put the token in the path): it is only shown
through :func:`monitor.notifiers.redact.redact_url`, and every text that reaches a delivery
error (an exception message, the receiver's answer) is scrubbed of it first.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor import __version__
from monitor.notifiers.channels.base import Item
from monitor.notifiers.config import WebhookChannel
from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.fit import fit_body
from monitor.notifiers.limits import RESPONSE_DETAIL_MAX_BYTES
from monitor.notifiers.redact import redact_url, register_secret, register_url, scrub
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
        self._url = config.url.get_secret_value()
        self.shown_url = redact_url(self._url)
        register_url(self._url)
        self._key: bytes | None = None
        if config.secret is not None:
            register_secret(config.secret.get_secret_value())
            try:
                self._key = secret_key(config.secret.get_secret_value())
            except ValueError as exc:
                raise NotifierConfigError(f"channels.{name}.secret: {exc}") from None
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created in the running loop, on first use
            self._client = httpx.AsyncClient(
                timeout=self.config.timeout,
                follow_redirects=False,
                headers={"user-agent": f"news-monitor/{__version__}"},
            )
        return self._client

    def _scrub(self, text: str) -> str:
        return scrub(text, [self._url])

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

    async def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
        """Status, Retry-After and the start of the answer.

        The answer is read to its end (an unfinished answer is not a delivery: the receiver
        may still fail it), but at most RESPONSE_DETAIL_MAX_BYTES of it are kept or awaited.
        """
        async with self._http().stream("POST", self._url, content=body, headers=headers) as r:
            detail = b""
            async for chunk in r.aiter_bytes():
                detail += chunk
                if len(detail) >= RESPONSE_DETAIL_MAX_BYTES:
                    break
            text = detail[:RESPONSE_DETAIL_MAX_BYTES].decode("utf-8", "replace")
            return r.status_code, r.headers.get("retry-after", ""), text

    async def send(self, item: Item, outbox_id: str) -> None:
        body = fit_body(self.config.format, self.templates.webhook_body(self.config.format, item))
        where = f"POST {self.shown_url}"
        try:
            # One deadline for the whole exchange: httpx's timeouts are per read, so a
            # receiver trickling a byte at a time would otherwise hold the delivery for ever.
            async with asyncio.timeout(self.config.timeout):
                status, retry_after, text = await self._post(body, self.headers(item, body))
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise DeliveryError(
                f"{where}: no complete answer within {self.config.timeout:g}s"
                f" ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"{where}: {type(exc).__name__}: {header_text(self._scrub(str(exc)))}"
            ) from None
        if 200 <= status < 300:
            return
        detail = header_text(self._scrub(text), max_length=200)
        reason = f"HTTP {status} from {self.shown_url}" + (f": {detail}" if detail else "")
        if status in RETRYABLE_STATUS or status >= 500:
            raise DeliveryError(reason, retry_after=parse_retry_after(retry_after))
        raise DeliveryError(reason, permanent=True)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
