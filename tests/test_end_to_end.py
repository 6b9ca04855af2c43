"""`monitor poll --once` on the embedded defaults, as a user runs it."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

SEED_TITLE = "Iranian-backed Militias Poised to Escalate Attacks on US Forces in the Middle East"


def monitor(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_poll_once_on_defaults_alerts_for_the_seed_article_once(tmp_path: Path) -> None:
    data = Path(os.environ["XDG_DATA_HOME"]) / "news-monitor"  # the user's data directory
    first = monitor(tmp_path, "poll", "--once")
    assert first.returncode == 0, first.stderr
    assert SEED_TITLE in first.stdout
    assert "feed=seed-rss status=- new=9" in first.stderr or "feed=seed-rss" in first.stderr
    assert not list(tmp_path.iterdir()), "nothing is written to the current directory"
    mails = sorted((data / "mail").rglob("*.eml"))
    assert mails, "the mail folder has the alert"
    subjects = []
    for path in mails:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.append(str(message["Subject"]))
        assert message.get_content_type() == "multipart/alternative"
    assert all("Iranian-backed Militias" in s for s in subjects)

    alerts = monitor(tmp_path, "alerts", "list")
    assert alerts.returncode == 0, alerts.stderr
    assert "Iranian-backed Militias" in alerts.stdout

    second = monitor(tmp_path, "poll", "--once")
    assert second.returncode == 0, second.stderr
    assert SEED_TITLE not in second.stdout, "a second run raises no alert (dedupe)"
    assert sorted((data / "mail").rglob("*.eml")) == mails

    feeds = monitor(tmp_path, "feeds", "list")
    assert feeds.returncode == 0, feeds.stderr
    assert "seed-rss" in feeds.stdout and "seed-atom" in feeds.stdout


def test_invalid_config_fails_fast_with_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[fetch]\ntimeout = 'soon'\n", encoding="utf-8")
    result = monitor(tmp_path, "run", "--config", str(config))
    assert result.returncode == 2
    assert "fetch.timeout" in result.stderr


def test_json_logs_are_one_object_per_line_with_the_poll_fields(tmp_path: Path) -> None:
    result = monitor(tmp_path, "poll", "--once", "--log-format", "json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    polls = [r for r in records if r["logger"] == "monitor.poll"]
    assert {r["feed"] for r in polls} == {"seed-rss", "seed-atom"}
    assert all({"status", "new_articles", "duration", "level", "time"} <= set(r) for r in polls)
    assert sum(r["new_articles"] for r in polls) == 9
