"""`monitor run` as a process: alerts while running, hot reload, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import SEED_RSS, STARTER_RULES
from tests.notifiers.conftest import Reply, WebhookReceiver

STARTUP_TIMEOUT = 60.0


class Daemon:
    """A ``monitor run`` child process whose stderr (the log) is collected to a file."""

    def __init__(self, config: Path) -> None:
        self.log_path = config.parent / "daemon.log"
        self.out_path = config.parent / "daemon.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            cwd=config.parent,
            env=env,
            stdout=self.out_path.open("wb"),
            stderr=self.log_path.open("wb"),
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(f"daemon exited ({self.process.returncode}) before {what}:\n{self.log}")
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}:\n{self.log}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=STARTUP_TIMEOUT)


@pytest.fixture
def start_daemon() -> Iterator[Callable[[Path], Daemon]]:
    started: list[Daemon] = []

    def start(config: Path) -> Daemon:
        daemon = Daemon(config)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def write_config(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text('data_dir = "data"\n' + body, encoding="utf-8")  # beside the config
    return config


def test_daemon_alerts_then_stops_cleanly_on_sigterm(
    tmp_path: Path, start_daemon: Callable[[Path], Daemon]
) -> None:
    shutil.copy(SEED_RSS, tmp_path / "seed.rss")
    config = write_config(
        tmp_path,
        f"""
[[feeds]]
name = "seed"
url = "seed.rss"
backfill_hours = -1
[rules]
paths = ["{STARTER_RULES}"]
watch = false
[channels.folder]
type = "folder"
path = "mail"
""",
    )
    daemon = start_daemon(config)
    mail = tmp_path / "data" / "mail"
    daemon.wait_for(lambda: len(list(mail.glob("*.eml"))) >= 6, "the seed alerts")
    assert daemon.stop(signal.SIGTERM) == 0
    log = daemon.log
    assert "feed=seed status=- new=9" in log
    assert "received SIGTERM" in log and "stopped" in log
    assert "Traceback" not in log


def test_daemon_reloads_rules_and_refuses_a_broken_change(
    tmp_path: Path, start_daemon: Callable[[Path], Daemon]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watch.yaml").write_text(
        "rules:\n"
        "  - id: drones\n"
        "    title: Drones\n"
        "    severity: low\n"
        "    query: drone*\n"
        "    examples:\n"
        "      match: [a drone attack]\n"
        "      no_match: [a quiet day]\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path,
        """
feeds = []
[rules]
paths = ["rules"]
[channels.folder]
type = "folder"
""",
    )
    daemon = start_daemon(config)
    daemon.wait_for(lambda: "monitor running" in daemon.log, "the start")
    time.sleep(0.5)  # let the watcher settle before the edit
    (rules / "broken.yaml").write_text(
        "rules:\n  - id: broken\n    title: B\n    severity: low\n    query: '(drone'\n",
        encoding="utf-8",
    )
    daemon.wait_for(lambda: "rule change refused" in daemon.log, "the refusal")
    assert "broken.yaml:5" in daemon.log
    (rules / "broken.yaml").write_text(
        "rules:\n  - id: fixed\n    title: F\n    severity: low\n    query: rocket*\n",
        encoding="utf-8",
    )
    daemon.wait_for(lambda: "(2 rules)" in daemon.log, "the reload of the fixed rules")
    assert daemon.stop() == 0


def drone_feed(count: int) -> str:
    items = "".join(
        f"<item><title>Drone attack number {i} on a base</title>"
        f"<link>https://news.example/drones/{i}</link><guid>drone-story-{i}</guid>"
        f"<description>A drone attack was reported, the {i}th this month.</description></item>"
        for i in range(count)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )


def test_sigkill_during_delivery_loses_nothing_and_creates_nothing_twice(
    tmp_path: Path, start_daemon: Callable[[Path], Daemon], webhook_receiver: WebhookReceiver
) -> None:
    alerts_expected = 6
    (tmp_path / "drones.rss").write_text(drone_feed(alerts_expected), encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "drones.yaml").write_text(
        "rules:\n  - id: drones\n    title: Drones\n    severity: high\n    query: drone*\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path,
        f"""
storm_threshold = 100
[[feeds]]
name = "drones"
url = "drones.rss"
backfill_hours = -1
[rules]
paths = ["rules"]
watch = false
[channels.hook]
type = "webhook"
url = "{webhook_receiver.url()}"
[delivery]
concurrency = 1
lease_seconds = 2
poll_interval = 0.2
backoff_base = 0.5
""",
    )
    webhook_receiver.default = Reply(delay=0.5)  # slow enough to be killed mid-batch

    first = start_daemon(config)
    first.wait_for(lambda: len(webhook_receiver.requests) >= 2, "the first deliveries")
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    delivered_before_kill = len(webhook_receiver.requests)
    assert delivered_before_kill < alerts_expected, "the kill came in the middle of the batch"

    second = start_daemon(config)

    def distinct_ids() -> set[str]:
        return {r.headers["webhook-id"] for r in webhook_receiver.requests}

    second.wait_for(lambda: len(distinct_ids()) == alerts_expected, "every alert delivered")
    assert second.stop(signal.SIGTERM) == 0

    db = sqlite3.connect(tmp_path / "data" / "monitor.db")
    alert_ids = {row[0] for row in db.execute("SELECT id FROM alerts")}
    statuses = [row[0] for row in db.execute("SELECT status FROM outbox")]
    db.close()
    assert len(alert_ids) == alerts_expected, "no alert was created twice"
    assert statuses == ["sent"] * alerts_expected
    assert {r.json()["id"] for r in webhook_receiver.requests} <= alert_ids
    # At-least-once: at most the one in-flight delivery is repeated, under the same webhook-id.
    assert len(webhook_receiver.requests) <= alerts_expected + 1
