"""Every send has an overall deadline: a receiver trickling its answer cannot stall it."""

from __future__ import annotations

import time

from monitor.events import AlertFailed

from .conftest import T0, make_article, make_rule


async def test_webhook_trickling_its_answer_fails_within_the_timeout(make_harness, trickle_server):
    # Headers, then one body byte every 0.3 s: each read is far within a per-read timeout.
    server = trickle_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    url = f"http://127.0.0.1:{server.port}/hook"
    h = make_harness(channels={"hook": {"type": "webhook", "url": url, "timeout": 1.0}})
    h.raise_alert(make_rule(), make_article())

    started = time.monotonic()
    assert await h.notifier.deliver_due(T0) == 0
    elapsed = time.monotonic() - started

    assert elapsed < 2.5, f"the send took {elapsed:.1f}s with timeout = 1"
    [failed] = h.of_type(AlertFailed)
    assert "within 1s" in failed.reason and not failed.final
    assert server.connections == 1


async def test_webhook_trickling_an_error_answer_fails_within_the_timeout(
    make_harness, trickle_server
):
    server = trickle_server(
        b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"
    )
    url = f"http://127.0.0.1:{server.port}/hook"
    h = make_harness(channels={"hook": {"type": "webhook", "url": url, "timeout": 1.0}})
    h.raise_alert(make_rule(), make_article())
    started = time.monotonic()
    await h.notifier.deliver_due(T0)
    assert time.monotonic() - started < 2.5
    [failed] = h.of_type(AlertFailed)
    assert "within 1s" in failed.reason


async def test_smtp_server_trickling_its_greeting_fails_within_the_timeout(
    make_harness, trickle_server
):
    # A multi-line greeting that never ends: every line arrives within the per-read timeout.
    server = trickle_server(b"220-mail.example.org\r\n", b"220-still here\r\n", interval=0.3)
    h = make_harness(
        channels={
            "smtp": {
                "type": "email",
                "host": "127.0.0.1",
                "port": server.port,
                "from": "monitor@example.org",
                "to": ["desk@example.org"],
                "timeout": 1.0,
            }
        }
    )
    h.raise_alert(make_rule(), make_article())
    started = time.monotonic()
    assert await h.notifier.deliver_due(T0) == 0
    assert time.monotonic() - started < 2.5
    [failed] = h.of_type(AlertFailed)
    assert "within 1s" in failed.reason and not failed.final
