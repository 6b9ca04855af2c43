"""Display names, the envelope, SMTPUTF8 and plaintext AUTH, against a real aiosmtpd server."""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

import pytest

from monitor.events import AlertDelivered, AlertFailed
from monitor.notifiers import NotifierConfigError

from .conftest import T0, make_article, make_rule
from .test_email import parse


def channel(port: int, **kw: Any) -> dict[str, Any]:
    return {
        "smtp": {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "from": "Überwachung Nachrichten <monitor@example.org>",
            "to": ["Zoë Analyst <zoe@example.org>", '"Żółć, Łukasz" <lukasz@example.org>'],
            "cc": ["Renée Øst <renee@example.org>"],
            "timeout": 5,
            **kw,
        }
    }


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def raw_header(data: bytes, name: bytes) -> bytes:
    """The header as it arrived on the wire, unfolded."""
    head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
    [line] = [x for x in head.split(b"\r\n") if x.lower().startswith(name.lower() + b":")]
    return line


async def test_non_ascii_display_names_need_no_smtputf8(make_harness, smtp_server):
    server = smtp_server(enable_SMTPUTF8=False)
    h = make_harness(channels=channel(server.port))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1, h.of_type(AlertFailed)

    [mail] = server.messages
    assert mail.mail_from == "monitor@example.org"  # bare addresses in the envelope
    assert sorted(mail.rcpt_tos) == [
        "lukasz@example.org",
        "renee@example.org",
        "zoe@example.org",
    ]
    assert mail.data.isascii(), "headers must be RFC 2047-encoded, not raw UTF-8"
    to = raw_header(mail.data, b"To")
    assert b"=?utf-8?" in to and "Zoë".encode() not in to
    assert decoded(to.decode()[3:]) == (
        "Zoë Analyst <zoe@example.org>, Żółć, Łukasz <lukasz@example.org>"
    )  # decoded text; the comma is inside an encoded word, so still one mailbox:
    assert decoded(raw_header(mail.data, b"From").decode()[5:]) == (
        "Überwachung Nachrichten <monitor@example.org>"
    )
    msg = parse(mail.data)
    assert [a.display_name for a in msg["To"].addresses] == ["Zoë Analyst", "Żółć, Łukasz"]
    assert msg["Cc"].addresses[0].display_name == "Renée Øst"


async def test_display_names_with_smtputf8_offered_are_still_encoded(make_harness, smtp_server):
    server = smtp_server(enable_SMTPUTF8=True)
    h = make_harness(channels=channel(server.port))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1
    [mail] = server.messages
    assert mail.data.isascii()  # SMTPUTF8 only when an address needs it


async def test_a_non_ascii_address_uses_smtputf8_when_offered(make_harness, smtp_server):
    server = smtp_server(enable_SMTPUTF8=True)
    h = make_harness(channels=channel(server.port, to=["Zoë <zoë@example.org>"], cc=[]))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1, h.of_type(AlertFailed)
    [mail] = server.messages
    assert mail.rcpt_tos == ["zoë@example.org"]
    assert "zoë@example.org".encode() in raw_header(mail.data, b"To")


async def test_a_non_ascii_address_without_smtputf8_is_a_permanent_failure(
    make_harness, smtp_server
):
    server = smtp_server(enable_SMTPUTF8=False)
    h = make_harness(channels=channel(server.port, to=["zoë@example.org"], cc=[]))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [failed] = h.of_type(AlertFailed)
    assert failed.final and "SMTPUTF8" in failed.reason
    assert not server.messages


# -- plaintext AUTH -------------------------------------------------------------------------


def auth_channel(host: str, **kw: Any) -> dict[str, Any]:
    return {
        "smtp": {
            "type": "email",
            "host": host,
            "from": "monitor@example.org",
            "to": ["desk@example.org"],
            "username": "analyst",
            "password": "s3cret-pw",
            **kw,
        }
    }


def test_auth_without_tls_to_a_remote_host_is_refused_at_start(make_harness):
    h = make_harness(channels=auth_channel("mail.example.org"))
    with pytest.raises(NotifierConfigError, match=r"channels\.smtp\.tls.*allow_insecure_auth"):
        _ = h.notifier


@pytest.mark.parametrize(
    ("host", "extra"),
    [
        ("mail.example.org", {"allow_insecure_auth": True}),
        ("mail.example.org", {"tls": "starttls"}),
        ("127.0.0.1", {}),
        ("localhost", {}),
        ("::1", {}),
    ],
)
def test_auth_without_tls_is_allowed_on_loopback_or_when_asked(make_harness, host, extra):
    h = make_harness(channels=auth_channel(host, **extra))
    assert "smtp" in h.notifier.channels


async def test_a_partial_refusal_is_delivered_and_not_logged_by_the_channel(
    make_harness, smtp_server, caplog
):
    from .conftest import RecordingHandler

    class Picky(RecordingHandler):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
            if address.startswith("renee"):
                return "550 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    server = smtp_server(handler=Picky())
    h = make_harness(channels=channel(server.port))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1
    assert len(h.of_type(AlertDelivered)) == 1
    assert not [r for r in caplog.records if r.name.startswith("monitor.notifiers.channels")]
