"""``monitor outbox list|retry`` and ``monitor send-test`` against a real store."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from tests.stores import execute

from .conftest import T0, make_article, make_rule


def write_config(tmp_path: Path, hook_url: str = "http://127.0.0.1:9/unreachable") -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
[store]
url = "sqlite:///{tmp_path / "m.db"}"
[channels.box]
type = "folder"
path = "{tmp_path / "mail"}"
[channels.hook]
type = "webhook"
url = "{hook_url}"
timeout = 2
"""
    )
    return config


async def test_outbox_list_and_retry(make_harness, tmp_path: Path, webhook_receiver):
    from .conftest import Reply

    webhook_receiver.script = [Reply(400, body=b"bad")]
    config = write_config(tmp_path, webhook_receiver.url())
    from monitor.config import load_settings

    h = make_harness()
    h.settings = load_settings(config)
    h.raise_alert(make_rule(notify=("box", "hook")), make_article())
    await h.notifier.deliver_due(T0)
    rows = {r["channel"]: r for r in h.outbox()}
    assert rows["hook"]["status"] == "dead" and rows["box"]["status"] == "sent"

    runner = CliRunner()
    listed = runner.invoke(main, ["outbox", "list", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert rows["hook"]["id"] in listed.output and "HTTP 400" in listed.output
    assert "1 sent" in listed.output and "1 dead" in listed.output

    as_json = runner.invoke(
        main, ["outbox", "list", "--json", "--status", "dead", "--config", str(config)]
    )
    [line] = as_json.output.strip().splitlines()
    assert json.loads(line)["id"] == rows["hook"]["id"]

    sent_retry = runner.invoke(
        main, ["outbox", "retry", rows["box"]["id"], "--config", str(config)]
    )
    assert sent_retry.exit_code == 1 and "is sent" in sent_retry.output

    retried = runner.invoke(main, ["outbox", "retry", rows["hook"]["id"], "--config", str(config)])
    assert retried.exit_code == 0, retried.output
    execute(h.db, "UPDATE outbox SET status = 'dead'")  # fail it again to test --dead
    all_dead = runner.invoke(main, ["outbox", "retry", "--dead", "--config", str(config)])
    assert all_dead.exit_code == 0 and "2 dead row(s) queued again" in all_dead.output
    assert {r["status"] for r in h.outbox()} == {"pending"}
    assert {r["attempts"] for r in h.outbox()} == {0}

    usage = runner.invoke(main, ["outbox", "retry", "--config", str(config)])
    assert usage.exit_code == 2


def test_send_test(tmp_path: Path, webhook_receiver):
    config = write_config(tmp_path, webhook_receiver.url())
    runner = CliRunner()
    ok = runner.invoke(main, ["send-test", "box", "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    assert len(list((tmp_path / "mail").glob("send-test-*.eml"))) == 1
    hooked = runner.invoke(main, ["send-test", "hook", "--config", str(config)])
    assert hooked.exit_code == 0 and len(webhook_receiver.requests) == 1

    unknown = runner.invoke(main, ["send-test", "pager", "--config", str(config)])
    assert unknown.exit_code == 2 and "unknown channel 'pager'" in unknown.output


def test_send_test_reports_a_failing_channel(tmp_path: Path):
    from .conftest import free_port

    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/hook")
    failed = CliRunner().invoke(main, ["send-test", "hook", "--config", str(config)])
    assert failed.exit_code == 1 and "failed (temporary)" in failed.output
