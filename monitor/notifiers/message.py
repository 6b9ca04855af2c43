"""Building the email for an alert or digest (pure): headers, threading, both parts.

Used by the SMTP channel and the mail folder alike, so a ``.eml`` in the folder is exactly
what the SMTP server would have received.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, getaddresses

from monitor.notifiers.errors import NotifierConfigError
from monitor.notifiers.sanitize import dot_atom, header_text
from monitor.notifiers.views import AlertView, DigestView

_WORDS = re.compile(r"\w+")
DEFAULT_DOMAIN = "news-monitor.localhost"


def check_addresses(values: Sequence[str], what: str) -> None:
    """Fail the start on an address an SMTP server would reject or that could inject headers."""
    for value in values:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise NotifierConfigError(f"{what}: address {value!r} contains control characters")
        parsed = getaddresses([value])
        if len(parsed) != 1 or "@" not in parsed[0][1] or parsed[0][1].startswith("@"):
            raise NotifierConfigError(f"{what}: {value!r} is not an email address")


def mail_domain(from_addr: str) -> str:
    """The domain for Message-IDs: the sender's, so they are unique to this installation."""
    address = getaddresses([from_addr])[0][1]
    domain = address.rpartition("@")[2]
    return dot_atom(domain.lower(), fallback=DEFAULT_DOMAIN) if domain else DEFAULT_DOMAIN


def story_key(title: str) -> str:
    """Titles that differ only in case, punctuation or spacing are the same story."""
    return " ".join(_WORDS.findall(title.casefold()))


def message_id(item: AlertView | DigestView, channel: str, domain: str) -> str:
    """Derived from the alert/digest id: a resend carries the same Message-ID."""
    kind = "alert" if isinstance(item, AlertView) else "digest"
    return f"<{kind}.{item.id}.{dot_atom(channel)}@{domain}>"


def thread_id(rule_id: str, title: str, domain: str) -> str:
    """The (virtual) thread root all alerts of one rule about one story reply to."""
    digest = hashlib.sha256(f"{rule_id}\x00{story_key(title)}".encode()).hexdigest()[:20]
    return f"<thread.{digest}@{domain}>"


class _EncodedHeader(str):
    """A non-ASCII header value folded as whole RFC 2047 encoded words.

    The stdlib's EmailPolicy folder drops the spaces between adjacent encoded words on some
    Python versions ("drones hutíes — Irán" arrives as "drones  hutíes—Irán"); the classic
    :class:`email.header.Header` encoder keeps them inside the words. EmailPolicy stores and
    folds any value that has a matching ``name`` and a ``fold`` method as it is.
    """

    name: str

    def __new__(cls, name: str, value: str) -> _EncodedHeader:
        obj = super().__new__(cls, value)
        obj.name = name
        return obj

    def fold(self, *, policy: Policy) -> str:
        linesep = policy.linesep
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=linesep)
        return f"{self.name}: {encoded}{linesep}"


def _subject(value: str) -> str:
    clean = header_text(value) or "(no subject)"
    return clean if clean.isascii() else _EncodedHeader("Subject", clean)


def _list_id(description: str, ident: str) -> str:
    phrase = header_text(description, max_length=80).replace('"', "").replace("\\", "")
    if phrase and phrase.isascii():
        return f'"{phrase}" <{ident}>'
    return f"<{ident}>"


def build_email(
    item: AlertView | DigestView,
    *,
    subject: str,
    text: str,
    html: str,
    from_addr: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    channel: str,
) -> EmailMessage:
    """A multipart/alternative message; ``subject`` is untrusted and sanitised here."""
    domain = mail_domain(from_addr)
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = _subject(subject)
    msg["From"] = from_addr
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Date"] = format_datetime(item.created_at)
    msg["Message-ID"] = message_id(item, channel, domain)
    msg["Auto-Submitted"] = "auto-generated"
    if isinstance(item, AlertView):
        rule_atom = dot_atom(item.rule.id)
        msg["List-Id"] = _list_id(item.rule.title, f"{rule_atom}.rules.{domain}")
        thread = thread_id(item.rule.id, item.article.title, domain)
        msg["In-Reply-To"] = thread
        msg["References"] = thread
        msg["X-Monitor-Alert"] = item.id
        msg["X-Monitor-Rule"] = rule_atom
        msg["X-Monitor-Severity"] = dot_atom(item.rule.severity)
    else:
        msg["List-Id"] = _list_id(item.title, f"{dot_atom(item.name)}.digests.{domain}")
        msg["X-Monitor-Digest"] = item.id
    msg.set_content(text, subtype="plain", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg
