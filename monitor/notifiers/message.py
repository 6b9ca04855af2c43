"""Building the email for an alert or digest (pure): headers, threading, both parts.

Used by the SMTP channel and the mail folder alike, so a ``.eml`` in the folder is exactly
what the SMTP server would have received.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, Policy
from email.utils import format_datetime, getaddresses

from monitor.notifiers.errors import NotifierConfigError
from monitor.notifiers.sanitize import dot_atom, header_text
from monitor.notifiers.views import AlertView, DigestView

_WORDS = re.compile(r"\w+")
DEFAULT_DOMAIN = "news-monitor.localhost"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """``Zoë Analyst <zoe@example.org>`` split: the display name goes in headers only,
    the bare address in the envelope (MAIL FROM / RCPT TO)."""

    name: str
    address: str

    @property
    def needs_smtputf8(self) -> bool:
        """Only a non-ASCII *address* needs SMTPUTF8; a display name is RFC 2047-encoded."""
        return not self.address.isascii()


def parse_mailbox(value: str, what: str) -> Mailbox:
    """Fail the start on an address an SMTP server would reject or that could inject headers."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise NotifierConfigError(f"{what}: address {value!r} contains control characters")
    parsed = getaddresses([value])
    if len(parsed) != 1:
        raise NotifierConfigError(f"{what}: {value!r} is not one email address")
    name, address = parsed[0]
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(c.isspace() or c in '<>,;"' for c in address):
        raise NotifierConfigError(f"{what}: {value!r} is not an email address")
    return Mailbox(name=" ".join(name.split()), address=address)


def parse_mailboxes(values: Sequence[str], what: str) -> tuple[Mailbox, ...]:
    return tuple(parse_mailbox(v, what) for v in values)


def check_addresses(values: Sequence[str], what: str) -> None:
    parse_mailboxes(values, what)


def needs_smtputf8(mailboxes: Sequence[Mailbox]) -> bool:
    return any(m.needs_smtputf8 for m in mailboxes)


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


_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def _phrase(name: str, *, utf8: bool, header_name: str) -> str:
    """A display name as RFC 5322 allows it: atoms, a quoted string, or RFC 2047 words."""
    if not name.isascii() and not utf8:
        return Header(name, "utf-8", header_name=header_name).encode()
    if _SPECIALS.search(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


class _AddressHeader(str):
    """From/To/Cc written from parsed mailboxes, one per line.

    Display names are encoded as whole RFC 2047 words (the stdlib's folder splits
    "Łukasz Żółć" into adjacent words and the space between them is lost on decoding); with
    an SMTPUTF8 policy (a non-ASCII address) they are written as UTF-8 instead.
    """

    name: str
    mailboxes: tuple[Mailbox, ...]

    def __new__(cls, name: str, mailboxes: Sequence[Mailbox]) -> _AddressHeader:
        obj = super().__new__(cls, ", ".join(m.address for m in mailboxes))
        obj.name = name
        obj.mailboxes = tuple(mailboxes)
        return obj

    def fold(self, *, policy: Policy) -> str:
        utf8 = bool(getattr(policy, "utf8", False))
        rendered = [
            f"{_phrase(m.name, utf8=utf8, header_name=self.name)} <{m.address}>"
            if m.name
            else m.address
            for m in self.mailboxes
        ]
        return f"{self.name}: " + f",{policy.linesep} ".join(rendered) + policy.linesep


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
    html: str | None,
    from_addr: Mailbox,
    to: Sequence[Mailbox],
    cc: Sequence[Mailbox] = (),
    channel: str,
) -> EmailMessage:
    """A multipart/alternative message; ``subject`` is untrusted and sanitised here.

    Its policy is SMTPUTF8 only when an address itself is non-ASCII.
    """
    domain = mail_domain(from_addr.address)
    msg = EmailMessage(policy=SMTPUTF8 if needs_smtputf8([from_addr, *to, *cc]) else SMTP)
    msg["Subject"] = _subject(subject)
    msg["From"] = _AddressHeader("From", [from_addr])
    msg["To"] = _AddressHeader("To", to)
    if cc:
        msg["Cc"] = _AddressHeader("Cc", cc)
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
    if html is not None:
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg
