"""`monitor run` as a process: alerts while running, hot reload, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_RSS

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
    config.write_text(body, encoding="utf-8")
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
paths = ["{ROOT / "rules"}"]
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
