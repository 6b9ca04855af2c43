"""Channel types by their ``type`` key: adding one is a module and an entry here.

(Its settings class also joins :data:`monitor.notifiers.config.ChannelConfig`, the
discriminated union the config file is validated against.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TextIO

from monitor.notifiers.channels.apprise_channel import AppriseSender
from monitor.notifiers.channels.base import Channel
from monitor.notifiers.channels.console import ConsoleSender
from monitor.notifiers.channels.email import EmailSender
from monitor.notifiers.channels.folder import FolderSender
from monitor.notifiers.channels.webhook import WebhookSender
from monitor.notifiers.errors import NotifierConfigError
from monitor.notifiers.templates import Templates

# name, settings, templates, stdout (only the console uses it) -> a started channel
Factory = Callable[[str, Any, Templates, TextIO | None], Channel]

REGISTRY: Mapping[str, Factory] = {
    "console": lambda name, cfg, templates, stream: ConsoleSender(name, cfg, templates, stream),
    "folder": lambda name, cfg, templates, _stream: FolderSender(name, cfg, templates),
    "maildir": lambda name, cfg, templates, _stream: FolderSender(name, cfg, templates),
    "email": lambda name, cfg, templates, _stream: EmailSender(name, cfg, templates),
    "webhook": lambda name, cfg, templates, _stream: WebhookSender(name, cfg, templates),
    "apprise": lambda name, cfg, templates, _stream: AppriseSender(name, cfg, templates),
}


def build(name: str, config: Any, templates: Templates, stream: TextIO | None = None) -> Channel:
    """The channel for ``[channels.NAME]``; NotifierConfigError for a broken setting."""
    kind = getattr(config, "type", None)
    factory = REGISTRY.get(kind) if isinstance(kind, str) else None
    if factory is None:
        known = ", ".join(sorted(REGISTRY))
        raise NotifierConfigError(f"channels.{name}.type: unknown type {kind!r} (known: {known})")
    return factory(name, config, templates, stream)
