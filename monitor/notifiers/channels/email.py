"""SMTP delivery with aiosmtplib: plain, STARTTLS or implicit TLS, optional AUTH."""

from __future__ import annotations

import logging
import ssl

import aiosmtplib

from monitor.notifiers.channels.base import Item
from monitor.notifiers.channels.mail import MailRenderer
from monitor.notifiers.config import EmailChannel
from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.message import check_addresses
from monitor.notifiers.sanitize import header_text
from monitor.notifiers.templates import Templates

log = logging.getLogger(__name__)


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"SMTP {exc.code} {header_text(str(exc.message), max_length=200)}"


class EmailSender:
    def __init__(self, name: str, config: EmailChannel, templates: Templates) -> None:
        self.name = name
        self.config = config
        check_addresses(config.bcc, f"channels.{name}.bcc")
        self.mail = MailRenderer(
            name,
            templates,
            from_addr=config.from_addr,
            to=config.to,
            cc=config.cc,
            subject=config.subject,
            digest_subject=config.digest_subject,
        )
        self.recipients = [*config.to, *config.cc, *config.bcc]  # Bcc: envelope only
        self._tls_context: ssl.SSLContext | None = None
        if config.tls != "none":
            try:
                cafile = str(config.ca_file) if config.ca_file else None
                self._tls_context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as exc:
                raise NotifierConfigError(f"channels.{name}.ca_file: {exc}") from exc

    async def send(self, item: Item, outbox_id: str) -> None:
        msg = self.mail.message(item)
        c = self.config
        try:
            errors, _ = await aiosmtplib.send(
                msg,
                sender=self.mail.from_addr,
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
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(_reply(exc), permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(
                f"SMTP {c.host}:{c.port}: {type(exc).__name__}: {header_text(str(exc))}"
            ) from exc
        if errors:
            # Delivered to the others: retrying would duplicate it for them, so only report.
            refused = ", ".join(f"{addr} ({_reply_text(r)})" for addr, r in errors.items())
            log.warning(
                "channel %s: %s: some recipients refused: %s", self.name, outbox_id, refused
            )

    async def aclose(self) -> None:
        return None


def _reply_text(response: aiosmtplib.SMTPResponse) -> str:
    return f"{response.code} {header_text(response.message, max_length=120)}"
