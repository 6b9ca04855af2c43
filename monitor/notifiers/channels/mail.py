"""Rendering an alert or digest into an email, shared by the SMTP and mail-folder channels."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

from monitor.notifiers.channels.base import Item
from monitor.notifiers.message import Mailbox, build_email, parse_mailbox, parse_mailboxes
from monitor.notifiers.templates import Templates
from monitor.notifiers.views import AlertView


class MailRenderer:
    """Checks the addresses and subject templates of one channel at start, then renders."""

    def __init__(
        self,
        name: str,
        templates: Templates,
        *,
        from_addr: str,
        to: Sequence[str],
        cc: Sequence[str] = (),
        subject: str,
        digest_subject: str,
    ) -> None:
        self.name = name
        self.templates = templates
        self.from_addr: Mailbox = parse_mailbox(from_addr, f"channels.{name}.from")
        self.to: tuple[Mailbox, ...] = parse_mailboxes(to, f"channels.{name}.to")
        self.cc: tuple[Mailbox, ...] = parse_mailboxes(cc, f"channels.{name}.cc")
        self._subject = templates.compile_string(subject, f"channels.{name}.subject")
        self._digest_subject = templates.compile_string(
            digest_subject, f"channels.{name}.digest_subject"
        )
        alert, digest = templates.samples()
        for sample in (alert, templates.surge_sample(), digest):
            self.message(sample)  # a subject that cannot render fails the start, not an alert

    def message(self, item: Item, *, html: bool = True) -> EmailMessage:
        is_alert = isinstance(item, AlertView)
        subject_template = self._subject if is_alert else self._digest_subject
        what = f"channels.{self.name}.{'subject' if is_alert else 'digest_subject'}"
        subject = self.templates.render_template(
            subject_template, self.templates.context(item), what
        )
        if isinstance(item, AlertView) and item.update is not None:
            subject = f"Update: {subject}"  # a story update, in the alert's thread
        return build_email(
            item,
            subject=subject,
            text=self.templates.text(item),
            html=self.templates.html(item) if html else None,
            from_addr=self.from_addr,
            to=self.to,
            cc=self.cc,
            channel=self.name,
        )
