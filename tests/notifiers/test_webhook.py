"""Webhooks to a real HTTP server on loopback: signatures, retries, Retry-After, formats."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from monitor.events import AlertDelivered, AlertFailed
from monitor.notifiers import NotifierConfigError
from monitor.notifiers.channels.webhook import parse_retry_after
from monitor.notifiers.signing import secret_key, verify

from .conftest import T0, Reply, make_article, make_rule

SECRET = "whsec_" + base64.b64encode(b"a shared secret of 32 bytes!!!!!").decode()


def hook(url: str, **kw: Any) -> dict[str, Any]:
    return {"hook": {"type": "webhook", "url": url, "secret": SECRET, "timeout": 5, **kw}}


async def test_signed_json_payload(make_harness, webhook_receiver):
    h = make_harness(channels=hook(webhook_receiver.url(), headers={"X-Team": "analysts"}))
    queued = h.raise_alert(make_rule(), make_article(), also_in=("wire",))
    assert await h.notifier.deliver_due(T0) == 1

    [req] = webhook_receiver.requests
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-team"] == "analysts"
    assert req.headers["webhook-id"] == queued.alert_id
    timestamp = int(req.headers["webhook-timestamp"])
    key = secret_key(SECRET)
    assert verify(
        key, req.headers["webhook-id"], timestamp, req.body, req.headers["webhook-signature"]
    )
    assert not verify(
        key, req.headers["webhook-id"], timestamp + 1, req.body, req.headers["webhook-signature"]
    )
    assert req.headers["webhook-signature"].startswith("v1,")

    body = req.json()
    assert body["schema_version"] == 1 and body["type"] == "alert" and body["id"] == queued.alert_id
    assert body["rule"] == {
        "id": "iran-proxies",
        "title": "Iranian proxies attack U.S. forces",
        "severity": "high",
    }
    assert body["article"]["link"] == "https://news.example.org/a1"
    assert body["article"]["other_feeds"] == ["wire"]
    assert {h["text"] for h in body["hits"]} >= {"Houthi", "drone", "Iranian-backed"}
    assert {"set": "actors", "texts": ["Houthi", "Iranian-backed"]} in body["matched"]
    assert "Houthi" in body["highlights"]


async def test_500_500_200_is_delivered_exactly_once(make_harness, webhook_receiver):
    webhook_receiver.script = [Reply(500), Reply(503, body=b"busy")]
    h = make_harness(channels=hook(webhook_receiver.url()))
    h.raise_alert(make_rule(), make_article())

    now = T0
    delivered = 0
    for _ in range(5):
        delivered += await h.notifier.deliver_due(now)
        now += timedelta(seconds=h.settings.delivery.backoff_max)
    assert delivered == 1
    assert len(webhook_receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in webhook_receiver.requests}) == 1
    assert len(h.of_type(AlertDelivered)) == 1
    failures = h.of_type(AlertFailed)
    assert [f.attempts for f in failures] == [1, 2] and not any(f.final for f in failures)
    assert "HTTP 503" in failures[1].reason and "busy" in failures[1].reason
    [row] = h.outbox()
    assert row["status"] == "sent" and row["attempts"] == 3


async def test_400_is_dead_with_the_reason(make_harness, webhook_receiver):
    webhook_receiver.script = [Reply(400, body=b'{"error": "unknown field"}')]
    h = make_harness(channels=hook(webhook_receiver.url()))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    assert await h.notifier.deliver_due(T0 + timedelta(days=1)) == 0
    assert len(webhook_receiver.requests) == 1
    [row] = h.outbox()
    assert row["status"] == "dead"
    assert row["last_error"].startswith("HTTP 400") and "unknown field" in row["last_error"]
    [failed] = h.of_type(AlertFailed)
    assert failed.final


async def test_429_retry_after_is_honoured(make_harness, webhook_receiver):
    webhook_receiver.script = [Reply(429, headers={"Retry-After": "120"})]
    h = make_harness(channels=hook(webhook_receiver.url()))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    with h.db.read() as uow:
        row = uow.outbox.rows()[0]
    assert row.next_attempt_at == T0 + timedelta(seconds=120)
    assert await h.notifier.deliver_due(T0 + timedelta(seconds=119)) == 0
    assert len(webhook_receiver.requests) == 1
    assert await h.notifier.deliver_due(T0 + timedelta(seconds=120)) == 1
    assert len(webhook_receiver.requests) == 2


async def test_408_and_timeouts_are_retried_until_the_last_attempt(make_harness, webhook_receiver):
    webhook_receiver.script = [Reply(408)] * 3
    h = make_harness(
        channels=hook(webhook_receiver.url()), delivery={"max_attempts": 3, "backoff_base": 1}
    )
    h.raise_alert(make_rule(), make_article())
    now = T0
    for _ in range(4):
        await h.notifier.deliver_due(now)
        now += timedelta(hours=1)
    assert len(webhook_receiver.requests) == 3
    assert [f.final for f in h.of_type(AlertFailed)] == [False, False, True]
    assert h.outbox()[0]["status"] == "dead"


async def test_connection_refused_is_retried(make_harness):
    from .conftest import free_port

    h = make_harness(channels=hook(f"http://127.0.0.1:{free_port()}/hook"))
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [failed] = h.of_type(AlertFailed)
    assert not failed.final and "ConnectError" in failed.reason


@pytest.mark.parametrize("fmt", ["slack", "teams", "discord"])
async def test_chat_formats_are_json_with_untrusted_text_escaped(
    make_harness, webhook_receiver, fmt
):
    h = make_harness(channels=hook(webhook_receiver.url(), format=fmt))
    hostile = 'Houthi drone <!channel> @everyone "quoted" *bold* [x](javascript:alert(1))'
    h.raise_alert(make_rule(), make_article(title=hostile, link="javascript:alert(1)"))
    assert await h.notifier.deliver_due(T0) == 1
    [req] = webhook_receiver.requests
    body = json.loads(req.body)
    flat = json.dumps(body)
    # the javascript: URL is neither a link target nor markdown link syntax, only inert text
    assert '"javascript:' not in flat and "<javascript:" not in flat
    if fmt != "slack":  # mrkdwn has no [text](url) links; markdown does, escaped here
        assert "](javascript:" not in flat
    assert "<!channel>" not in flat
    if fmt == "slack":
        assert body["text"].count("&lt;!channel&gt;") == 1
    if fmt == "discord":
        assert body["allowed_mentions"] == {"parse": []}
        assert "url" not in body["embeds"][0]  # the javascript: link is not a link
        assert r"\*bold\*" in body["embeds"][0]["title"]
    if fmt == "teams":
        card = body["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard" and "actions" not in card


def test_retry_after_parsing():
    from datetime import UTC, datetime

    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:02:00 GMT", now) == 120.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_bad_secret_and_reserved_headers_fail_the_start(make_harness):
    h = make_harness(channels=hook("https://hooks.example.org/x", secret="whsec_***"))
    with pytest.raises(NotifierConfigError, match=r"channels\.hook\.secret"):
        _ = h.notifier
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"Webhook-Signature.*cannot be replaced"):
        make_harness(
            channels=hook("https://hooks.example.org/x", headers={"Webhook-Signature": "x"})
        )
    with pytest.raises(ValidationError, match="http"):
        make_harness(channels=hook("file:///etc/passwd"))
