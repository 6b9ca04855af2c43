"""SMTP delivery with aiosmtplib: plain, STARTTLS or implicit TLS, optional AUTH.

The envelope carries bare addresses; display names live in the headers only (RFC 2047), so
``Zoë Analyst <zoe@example.org>`` needs no SMTPUTF8 — only a non-ASCII address does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from email.message import EmailMessage

import aiosmtplib

from monitor.notifiers.channels.base import Item
from monitor.notifiers.channels.mail import MailRenderer
from monitor.notifiers.config import EmailChannel
from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.message import parse_mailboxes
from monitor.notifiers.redact import register_secret
from monitor.notifiers.sanitize import header_text
from monitor.notifiers.templates import Templates


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"SMTP {exc.code} {header_text(str(exc.message), max_length=200)}"


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_auth_transport(name: str, config: EmailChannel) -> None:
    """AUTH without TLS sends the password in clear: refused unless on loopback or allowed."""
    if (
        config.username is not None
        and config.tls == "none"
        and not config.allow_insecure_auth
        and not is_loopback(config.host)
    ):
        raise NotifierConfigError(
            f'channels.{name}.tls: "none" with a username would send the password to'
            f' {config.host} unencrypted; use tls = "starttls" or "tls", or set'
            f" channels.{name}.allow_insecure_auth = true"
        )


class EmailSender:
    def __init__(self, name: str, config: EmailChannel, templates: Templates) -> None:
        self.name = name
        self.config = config
        check_auth_transport(name, config)
        if config.password is not None:
            register_secret(config.password.get_secret_value())
        bcc = parse_mailboxes(config.bcc, f"channels.{name}.bcc")
        self.mail = MailRenderer(
            name,
            templates,
            from_addr=config.from_addr,
            to=config.to,
            cc=config.cc,
            subject=config.subject,
            digest_subject=config.digest_subject,
        )
        # The envelope: bare addresses; Bcc is in the envelope only.
        self.sender = self.mail.from_addr.address
        self.recipients = [m.address for m in (*self.mail.to, *self.mail.cc, *bcc)]
        self._tls_context: ssl.SSLContext | None = None
        if config.tls != "none":
            try:
                cafile = str(config.ca_file) if config.ca_file else None
                self._tls_context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as exc:
                raise NotifierConfigError(f"channels.{name}.ca_file: {exc}") from exc

    def message(self, item: Item) -> EmailMessage:
        """The message, within ``max_bytes``: without its HTML part if that is what it takes."""
        msg = self.mail.message(item)
        if len(msg.as_bytes()) <= self.config.max_bytes:
            return msg
        smaller = self.mail.message(item, html=False)
        size = len(smaller.as_bytes())
        if size > self.config.max_bytes:
            raise DeliveryError(
                f"the message is {size} bytes, over channels.{self.name}.max_bytes"
                f" ({self.config.max_bytes})",
                permanent=True,
            )
        return smaller

    async def send(self, item: Item, outbox_id: str) -> None:
        msg = self.message(item)
        c = self.config
        try:
            # aiosmtplib's timeout is per command; this bounds the whole session.
            async with asyncio.timeout(c.timeout):
                await aiosmtplib.send(
                    msg,
                    sender=self.sender,
                    recipients=self.recipients,
                    hostname=c.host,
                    port=c.port,
                    username=c.username,
                    password=c.password.get_secret_value() if c.password else None,
                    use_tls=c.tls == "tls",
                    start_tls=c.tls == "starttls",
                    tls_context=self._tls_context,
                    timeout=c.timeout,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reasons = "; ".join(_reply(r) for r in exc.recipients)
            raise DeliveryError(
                f"all recipients refused: {reasons}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. SMTPUTF8 needed, not offered
            raise DeliveryError(
                f"SMTP {c.host}:{c.port}: {header_text(str(exc))}", permanent=True
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(_reply(exc), permanent=exc.code >= 500) from exc
        except TimeoutError as exc:
            raise DeliveryError(f"SMTP {c.host}:{c.port}: not done within {c.timeout:g}s") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP {c.host}:{c.port}: {type(exc).__name__}: {header_text(str(exc))}"
            ) from exc
        # Some recipients refused, others accepted: retrying would duplicate the message
        # for the others, so it counts as delivered (aiosmtplib returns the refusals).

    async def aclose(self) -> None:
        return None
