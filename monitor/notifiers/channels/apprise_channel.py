"""Any service Apprise supports (ntfy, Gotify, Matrix, Telegram, generic ``json://``…).

The URLs carry the services' tokens: they are secrets, never logged or put in an error
(Apprise's own result names a service by its privacy-masked URL; we show it redacted too).
"""

from __future__ import annotations

import asyncio

import apprise

from monitor.notifiers.channels.base import Item
from monitor.notifiers.config import AppriseChannel
from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.limits import APPRISE_BODY_MAX, TITLE_MAX, clip
from monitor.notifiers.redact import redact_url, register_url, scrub
from monitor.notifiers.sanitize import header_text
from monitor.notifiers.templates import Templates
from monitor.notifiers.views import AlertView


def notification_title(item: Item) -> str:
    if isinstance(item, AlertView):
        text = f"[{item.rule.severity.upper()}] {item.rule.title}: {item.article.title}"
    else:
        text = f"{item.title}: {item.total} article(s)"
    return header_text(text, max_length=TITLE_MAX)


class AppriseSender:
    def __init__(self, name: str, config: AppriseChannel, templates: Templates) -> None:
        self.name = name
        self.config = config
        self.templates = templates
        self._urls = [u.get_secret_value() for u in config.urls]
        self.shown_urls = [redact_url(u) for u in self._urls]
        asset = apprise.AppriseAsset(
            storage_mode=apprise.PersistentStoreMode.MEMORY,  # nothing written under $HOME
            secure_logging=True,
        )
        self._apprise = apprise.Apprise(asset=asset)
        for i, url in enumerate(self._urls):
            register_url(url)
            if not self._apprise.add(url):
                raise NotifierConfigError(
                    f"channels.{name}.urls[{i}]: {self.shown_urls[i]} is not a URL Apprise"
                    " supports (see https://github.com/caronc/apprise/wiki)"
                )

    def _scrub(self, text: str) -> str:
        return scrub(text, self._urls)

    async def send(self, item: Item, outbox_id: str) -> None:
        body = clip(self.templates.text(item), APPRISE_BODY_MAX)
        try:
            async with asyncio.timeout(self.config.timeout):
                result = await self._apprise.async_notify(
                    body=body,
                    title=notification_title(item),
                    body_format=apprise.NotifyFormat.TEXT,
                    timeout=self.config.timeout,
                )
        except TimeoutError:
            raise DeliveryError(f"apprise: not done within {self.config.timeout:g}s") from None
        except Exception as exc:  # Apprise raises its own exception types on bad input
            raise DeliveryError(
                f"apprise: {type(exc).__name__}: {header_text(self._scrub(str(exc)))}"
            ) from None
        if result:
            return
        failed = [r for r in result if not r]
        details = []
        for r in failed:
            messages = [e.message for e in r.logs() if e.level in ("WARNING", "ERROR")]
            last = header_text(self._scrub(messages[-1]), max_length=200) if messages else ""
            details.append(f"{r.name} ({r.status.name.lower()})" + (f": {last}" if last else ""))
        summary = "; ".join(details) or "no service accepted the notification"
        raise DeliveryError(
            f"apprise: {len(failed) or len(self._urls)} of {len(self._urls)} service(s)"
            f" failed: {summary}"
        )

    async def aclose(self) -> None:
        return None
