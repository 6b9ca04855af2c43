"""``monitor doctor``: one line per check, every channel reached, nothing sent."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from tests.conftest import STARTER_RULES

from .conftest import free_port


def test_doctor_reaches_each_channel_without_sending(
    tmp_path: Path, smtp_server, webhook_receiver
) -> None:
    server = smtp_server()
    closed = free_port()
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
feeds = []
[rules]
paths = ["{STARTER_RULES}"]
watch = false
[channels.desk]
type = "email"
host = "127.0.0.1"
port = {server.port}
from = "Monitor <m@example.org>"
to = ["desk@example.org"]
[channels.hook]
type = "webhook"
url = "{webhook_receiver.url("/hook?token=s3cr3t")}"
[channels.down]
type = "webhook"
url = "http://127.0.0.1:{closed}/hook/s3cr3t"
timeout = 2
[channels.box]
type = "folder"
path = "mail"
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)])
    lines = result.output.splitlines()
    assert result.exit_code == 1, result.output
    assert any(line.startswith("ok    rules: 6 rule(s)") for line in lines), result.output
    assert any(line.startswith("ok    store: sqlite:///") for line in lines)
    assert any(line.startswith("ok    templates:") for line in lines)
    assert any(
        line.startswith(f"ok    channel desk: SMTP 127.0.0.1:{server.port}") for line in lines
    )
    assert any(line.startswith("ok    channel hook:") for line in lines)
    assert any(line.startswith("FAIL  channel down:") for line in lines)
    assert any(line.startswith("ok    channel box:") for line in lines)
    assert "s3cr3t" not in result.output
    assert server.messages == [] and webhook_receiver.requests == []


def test_doctor_exits_0_when_all_is_well(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[rules]\npaths = ["{STARTER_RULES}"]\nwatch = false\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
