"""Alerts printed to standard output: the zero-configuration channel."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from monitor.notifiers.channels.base import Item
from monitor.notifiers.config import ConsoleChannel
from monitor.notifiers.errors import DeliveryError
from monitor.notifiers.templates import Templates

RULER = "=" * 72


class ConsoleSender:
    def __init__(
        self, name: str, config: ConsoleChannel, templates: Templates, stream: TextIO | None = None
    ) -> None:
        self.name = name
        self.config = config
        self.templates = templates
        self._stream = stream

    async def send(self, item: Item, outbox_id: str) -> None:
        if self.config.format == "json":
            body = json.loads(self.templates.webhook_body("json", item))
            out = json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n"
        else:
            out = f"{RULER}\n{self.templates.text(item).rstrip()}\n{RULER}\n"
        stream = self._stream or sys.stdout  # looked up late so redirection after start works
        try:
            stream.write(out)
            stream.flush()
        except (OSError, ValueError) as exc:  # closed or broken stdout
            raise DeliveryError(f"cannot write to the console: {exc}") from exc

    async def aclose(self) -> None:
        return None
