"""The embedded defaults: the console and the mail folder, both real channels."""

from __future__ import annotations

import email
import email.policy
import io
import json
from pathlib import Path

import pytest

from monitor.bus import EventBus
from monitor.config import load_settings
from monitor.notifiers import Notifier
from monitor.store import open_store
from tests.stores import execute, rows

from .conftest import T0, make_article, make_rule


def test_defaults_are_console_and_mail_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    assert set(settings.channels) == {"console", "mail-folder"}
    assert settings.effective_default_channels == ["console", "mail-folder"]


async def test_default_channels_print_and_write_one_eml_per_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_harness
):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    h = make_harness()
    h.settings = settings
    queued = h.raise_alert(make_rule(), make_article())
    assert queued is not None and queued.channels == ("console", "mail-folder")
    assert await h.notifier.deliver_due(T0) == 2

    out = h.stdout.getvalue()
    assert "[HIGH] Iranian proxies attack U.S. forces" in out and "»Houthi«" in out

    folder = settings.data_dir / "mail"
    [eml] = list(folder.glob("*.eml"))
    row = next(r for r in h.outbox() if r["channel"] == "mail-folder")
    assert eml.name == f"{row['id']}.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert queued.alert_id in msg["Message-ID"]
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


async def test_a_resend_overwrites_the_eml_instead_of_adding_one(make_harness, tmp_path: Path):
    h = make_harness()
    h.raise_alert(make_rule(), make_article())
    await h.notifier.deliver_due(T0)
    execute(h.db, "UPDATE outbox SET status = 'pending', attempts = 0")  # e.g. `outbox retry`
    await h.notifier.deliver_due(T0)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


async def test_maildir_layout(make_harness, tmp_path: Path):
    h = make_harness(channels={"box": {"type": "maildir", "path": str(tmp_path / "Maildir")}})
    h.raise_alert(make_rule(), make_article())
    await h.notifier.deliver_due(T0)
    assert len(list((tmp_path / "Maildir" / "new").iterdir())) == 1
    assert (tmp_path / "Maildir" / "cur").is_dir()
    assert list((tmp_path / "Maildir" / "tmp").iterdir()) == []


async def test_unwritable_folder_is_retried(make_harness, tmp_path: Path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    h = make_harness(channels={"box": {"type": "folder", "path": str(blocker / "mail")}})
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [row] = h.outbox()
    assert row["status"] == "pending" and "cannot write" in row["last_error"]


async def test_console_json(make_harness):
    h = make_harness(channels={"out": {"type": "console", "format": "json"}})
    queued = h.raise_alert(make_rule(), make_article())
    await h.notifier.deliver_due(T0)
    [line] = h.stdout.getvalue().splitlines()
    body = json.loads(line)
    assert body["id"] == queued.alert_id and body["schema_version"] == 1


async def test_send_test_reaches_the_channel_without_the_outbox(tmp_path: Path):
    settings = load_settings(None).model_copy(
        update={"channels": {"out": load_settings(None).channels["console"]}}
    )
    db = open_store(str(tmp_path / "m.db"))
    stream = io.StringIO()
    notifier = Notifier(settings, db, EventBus(), stream=stream)
    test_id = await notifier.send_test("out", T0)
    assert test_id.startswith("send-test-")
    assert "Sample: attacks on U.S. forces" in stream.getvalue()
    assert rows(db, "SELECT * FROM outbox") == []
    db.close()
