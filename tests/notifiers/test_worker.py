"""The outbox worker under slow and hanging endpoints: channels never stall one another.

Regression: one ``gather`` over the whole batch and a per-read timeout let a webhook that
trickles one byte every few seconds hold every other channel's alerts, and SIGTERM waited
for it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from monitor.events import AlertDelivered, AlertFailed

from .conftest import make_article, make_rule

ALERTS = 20


class Trickle:
    """Accepts, sends HTTP headers, then one body byte every ``every`` seconds (or nothing)."""

    def __init__(self, every: float | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.every = every
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                if self.every is None:
                    self.stopping.wait(60)
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
                while not self.stopping.wait(self.every):
                    conn.sendall(b"x")
            except OSError:
                pass

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def trickle() -> Iterator[Trickle]:
    server = Trickle(every=0.5)
    yield server
    server.close()


@pytest.fixture
def hang() -> Iterator[Trickle]:
    server = Trickle(every=None)
    yield server
    server.close()


def channels(url: str) -> dict[str, object]:
    return {
        "console": {"type": "console"},
        "hook": {"type": "webhook", "url": url, "timeout": 30},
    }


async def test_a_trickling_webhook_holds_only_its_own_alerts(make_harness, trickle: Trickle):
    h = make_harness(
        channels=channels(trickle.url), storm_threshold=1000,
        delivery={"send_deadline": 1.5, "poll_interval": 0.1, "concurrency": 2},
    )  # fmt: skip
    for i in range(ALERTS):
        h.raise_alert(make_rule(), make_article(f"a{i}", title=f"Houthi drone story {i}"))
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(h.notifier.run(stop))
    while time.monotonic() - started < 10:
        console = [e for e in h.of_type(AlertDelivered) if e.channel == "console"]
        if len(console) == ALERTS:
            break
        await asyncio.sleep(0.05)
    assert len(console) == ALERTS, "every console alert went out while the webhook trickled"
    assert time.monotonic() - started < 5
    while not h.of_type(AlertFailed):
        await asyncio.sleep(0.05)
    failed = h.of_type(AlertFailed)[0]
    assert failed.channel == "hook" and "send deadline" in failed.reason
    stop.set()
    await asyncio.wait_for(task, timeout=h.settings.delivery.stop_grace + 5)


async def test_a_stop_waits_at_most_the_grace_period_and_leaves_the_row_due(
    make_harness, hang: Trickle
):
    h = make_harness(
        channels={"hook": {"type": "webhook", "url": hang.url, "timeout": 60}},
        delivery={"send_deadline": 60, "stop_grace": 0.5, "poll_interval": 0.1},
    )  # fmt: skip
    h.raise_alert(make_rule(), make_article())
    stop = asyncio.Event()
    task = asyncio.create_task(h.notifier.run(stop))
    while not any(r["status"] == "sending" for r in h.outbox()):
        await asyncio.sleep(0.05)
    stopped_at = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - stopped_at < 2
    [row] = h.outbox()
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("pending", 0, None)
