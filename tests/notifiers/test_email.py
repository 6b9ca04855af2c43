"""Email alerts through a real aiosmtpd server on loopback: plain, STARTTLS, TLS, AUTH, faults."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from monitor.events import AlertDelivered, AlertFailed
from monitor.store.types import time_to_text
from tests.stores import execute

from .conftest import T0, USERS, RecordingHandler, authenticator, make_article, make_rule


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def email_channel(port: int, **kw: Any) -> dict[str, Any]:
    return {
        "ops": {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "from": "Monitor <monitor@alerts.example.org>",
            "to": ["analysts@example.org"],
            "bcc": ["archive@example.org"],
            "timeout": 5,
            **kw,
        }
    }


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


async def test_plain_smtp_alert_has_headers_parts_and_highlights(make_harness, smtp_server):
    server = smtp_server()
    h = make_harness(channels=email_channel(server.port), timezone="America/New_York")
    rule, article = make_rule(), make_article("a1")
    queued = h.raise_alert(rule, article, also_in=("wire-feed",))
    assert queued is not None and queued.channels == ("ops",)

    assert await h.notifier.deliver_due(T0) == 1

    [mail] = server.messages
    assert mail.mail_from == "monitor@alerts.example.org"
    assert sorted(mail.rcpt_tos) == ["analysts@example.org", "archive@example.org"]
    msg = parse(mail.data)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == f"[HIGH] {rule.title}: {article.title}"
    assert msg["To"] == "analysts@example.org"
    assert msg["Bcc"] is None  # Bcc travels in the envelope only
    assert queued.alert_id in msg["Message-ID"]
    assert msg["Message-ID"].endswith("@alerts.example.org>")
    assert msg["List-Id"].strip() == f'"{rule.title}" <iran-proxies.rules.alerts.example.org>'
    assert msg["In-Reply-To"] == msg["References"]
    assert msg["Date"] is not None and msg["Auto-Submitted"] == "auto-generated"

    text, html = parts(msg)
    assert "»Houthi«" in text and "»drone«" in text and "»Iranian-backed«" in text
    assert "Published:  2023-10-23 09:55 EDT" in text  # 13:55 UTC in the display timezone
    assert "Also in:    wire-feed" in text
    assert "Severity:   high" in text and "(iran-proxies)" in text
    assert ">Houthi</mark>" in html and ">drone</mark>" in html
    assert 'href="https://news.example.org/a1"' in html
    assert "wire-feed" in html and "<script" not in html and "<img" not in html
    [delivered] = h.of_type(AlertDelivered)
    assert delivered.channel == "ops" and delivered.alert_id == queued.alert_id
    [row] = h.outbox()
    assert row["status"] == "sent" and row["sent_at"] == time_to_text(T0)


async def test_starttls_with_auth(make_harness, smtp_server, server_tls, ca_file):
    server = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    login, password = next(iter(USERS.items()))
    h = make_harness(
        channels=email_channel(
            server.port, tls="starttls", ca_file=str(ca_file), username=login, password=password
        )
    )
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1
    [mail] = server.messages
    assert mail.tls and mail.authenticated


async def test_implicit_tls(make_harness, smtp_server, server_tls, ca_file):
    server = smtp_server(ssl_context=server_tls)
    h = make_harness(channels=email_channel(server.port, tls="tls", ca_file=str(ca_file)))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1
    assert server.messages[0].tls


async def test_untrusted_certificate_is_retried_not_sent(
    make_harness, smtp_server, server_tls, tmp_path: Path
):
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    h = make_harness(channels=email_channel(server.port, tls="starttls"))  # system CAs only
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [failed] = h.of_type(AlertFailed)
    assert not failed.final and "SSL" in failed.reason.upper()
    assert server.messages == []


async def test_wrong_password_is_final_with_the_server_reason(
    make_harness, smtp_server, server_tls, ca_file
):
    server = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    h = make_harness(
        channels=email_channel(
            server.port,
            tls="starttls",
            ca_file=str(ca_file),
            username="analyst",
            password="not-the-password",
        )
    )
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [row] = h.outbox()
    assert row["status"] == "dead" and row["last_error"].startswith("SMTP 535")
    [failed] = h.of_type(AlertFailed)
    assert failed.final and failed.attempts == 1


async def test_server_down_then_started_is_delivered_after_retry(make_harness, smtp_server):
    server = smtp_server(start=False)
    h = make_harness(channels=email_channel(server.port))
    h.raise_alert(make_rule(), make_article())

    assert await h.notifier.deliver_due(T0) == 0
    [row] = h.outbox()
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
    with h.db.read() as uow:
        retry_at = uow.outbox.get(row["id"]).next_attempt_at  # type: ignore[union-attr]
    assert T0 + timedelta(seconds=15) <= retry_at <= T0 + timedelta(seconds=30)
    assert await h.notifier.deliver_due(retry_at - timedelta(seconds=1)) == 0  # not due yet

    server.start()
    assert await h.notifier.deliver_due(retry_at) == 1
    assert len(server.messages) == 1
    assert h.outbox()[0]["status"] == "sent"
    assert [type(e).__name__ for e in h.events] == ["AlertQueued", "AlertFailed", "AlertDelivered"]


async def test_crash_after_send_resends_once_with_the_same_message_id(make_harness, smtp_server):
    server = smtp_server()
    h = make_harness(channels=email_channel(server.port))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1
    # The state a crash between sending and marking leaves: the row still claimed, by an
    # instance that was alive at T0 and then stopped beating.
    lease = timedelta(seconds=h.settings.delivery.lease_seconds)
    with h.db.write() as uow:
        uow.instances.register("crashed", now=T0, version="test")
    execute(
        h.db,
        "UPDATE outbox SET status = 'sending', claimed_at = :t, claimed_by = 'crashed',"
        " lease_until = :until, sent_at = NULL",
        {"t": time_to_text(T0), "until": time_to_text(T0 + lease)},
    )
    assert await h.notifier.deliver_due(T0 + timedelta(seconds=5)) == 0  # alive: lease held
    # Its heartbeat stopped: taken over long before the lease runs out.
    assert await h.notifier.deliver_due(T0 + timedelta(seconds=31)) == 1
    assert await h.notifier.deliver_due(T0 + 10 * lease) == 0
    first, second = (parse(m.data) for m in server.messages)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Date"] == second["Date"] and first["Subject"] == second["Subject"]


async def test_alerts_of_one_rule_about_one_story_thread_together(make_harness, smtp_server):
    server = smtp_server()
    h = make_harness(channels=email_channel(server.port))
    rule = make_rule()
    h.raise_alert(rule, make_article("a1", feed="feed-1"))
    h.raise_alert(rule, make_article("a2", feed="feed-2", title=make_article().title.upper()))
    h.raise_alert(rule, make_article("a3", title="Houthi drone shot down over the Red Sea"))
    h.raise_alert(make_rule("other", title="Other rule"), make_article("a1"))
    assert await h.notifier.deliver_due(T0) == 4
    by_article = {parse(m.data)["X-Monitor-Alert"]: parse(m.data) for m in server.messages}
    msgs = list(by_article.values())
    assert len({m["Message-ID"] for m in msgs}) == 4
    refs = sorted(m["References"] for m in msgs)
    assert len(set(refs)) == 3  # a1 and a2 (same rule, same story) share a thread
    list_ids = {m["List-Id"] for m in msgs}
    assert len(list_ids) == 2


async def test_smtp_refusing_the_recipient_permanently_is_dead(make_harness, smtp_server):
    class Refuse(RecordingHandler):
        async def handle_RCPT(self, *args: Any) -> str:
            return "550 5.1.1 no such user"

    server = smtp_server(handler=Refuse())
    h = make_harness(channels=email_channel(server.port))
    h.raise_alert(make_rule(), make_article())
    await h.notifier.deliver_due(T0)
    [row] = h.outbox()
    assert row["status"] == "dead" and "550" in row["last_error"]


def test_tls_context_check_fails_fast_on_a_missing_ca_file(make_harness, tmp_path: Path):
    import pytest

    from monitor.notifiers import NotifierConfigError

    h = make_harness(
        channels=email_channel(25, tls="starttls", ca_file=str(tmp_path / "missing.pem"))
    )
    with pytest.raises(NotifierConfigError, match=r"channels\.ops\.ca_file"):
        _ = h.notifier


async def test_password_comes_from_the_environment(
    make_harness, smtp_server, server_tls, ca_file, tmp_path: Path, monkeypatch
):
    from monitor.config import load_settings

    server = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[channels.ops]
type = "email"
host = "127.0.0.1"
port = {server.port}
tls = "starttls"
ca_file = "{ca_file}"
username = "analyst"
from = "monitor@alerts.example.org"
to = ["analysts@example.org"]
"""
    )
    h = make_harness()
    monkeypatch.setenv("MONITOR_CHANNELS__OPS__PASSWORD", USERS["analyst"])
    h.settings = load_settings(config)
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1
    assert server.messages[0].authenticated
