"""Reach a channel without sending anything: for ``monitor doctor``.

SMTP: connect, EHLO, STARTTLS or TLS as configured, AUTH when a username is set, QUIT.
Webhook: open a TCP connection to its host. Folder: the directory can be created and written.
One probe per channel type, keyed like the channel registry; a type without a send-free
check says so instead of pretending.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib

from monitor.notifiers.config import EmailChannel, FolderChannel, WebhookChannel
from monitor.notifiers.redact import redact_url


class ProbeFailed(Exception):
    """The channel cannot be reached; the message says why (never a secret)."""


async def _email(config: Any) -> str:
    c: EmailChannel = config
    context = ssl.create_default_context(cafile=str(c.ca_file) if c.ca_file else None)
    smtp = aiosmtplib.SMTP(
        hostname=c.host, port=c.port, use_tls=c.tls == "tls", start_tls=c.tls == "starttls",
        tls_context=context, timeout=c.timeout,
    )  # fmt: skip
    try:
        async with asyncio.timeout(c.timeout):
            await smtp.connect()
            await smtp.ehlo()
            steps = ["EHLO"] + (["TLS"] if c.tls != "none" else [])
            if c.username and c.password:
                await smtp.login(c.username, c.password.get_secret_value())
                steps.append("AUTH")
            await smtp.quit()
    except TimeoutError:
        raise ProbeFailed(f"SMTP {c.host}:{c.port}: no answer within {c.timeout:g}s") from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ProbeFailed(f"SMTP {c.host}:{c.port}: {type(exc).__name__}: {exc}") from None
    return f"SMTP {c.host}:{c.port} answered ({', '.join(steps)} ok)"


async def _webhook(config: Any) -> str:
    c: WebhookChannel = config
    url = c.url.get_secret_value()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    try:
        async with asyncio.timeout(c.timeout):
            _reader, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
    except TimeoutError:
        raise ProbeFailed(f"{redact_url(url)}: no connection within {c.timeout:g}s") from None
    except OSError as exc:
        raise ProbeFailed(f"{redact_url(url)}: {exc.strerror or exc}") from None
    return f"{redact_url(url)} reachable (nothing sent)"


async def _folder(config: Any) -> str:
    c: FolderChannel = config
    path = Path(c.path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        raise ProbeFailed(f"{path}: {exc.strerror or exc}") from None
    return f"{path} writable"


async def _console(config: Any) -> str:
    return "writes to standard output"


async def _unchecked(config: Any) -> str:
    return "not checked: this channel type has no way to connect without sending"


PROBES: dict[str, Callable[[Any], Awaitable[str]]] = {
    "email": _email,
    "webhook": _webhook,
    "folder": _folder,
    "maildir": _folder,
    "console": _console,
}


async def probe(config: Any) -> str:
    """What reaching the channel showed; ProbeFailed when it cannot be reached."""
    return await PROBES.get(str(getattr(config, "type", "")), _unchecked)(config)
