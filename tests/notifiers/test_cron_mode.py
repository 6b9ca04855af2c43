"""Cron mode: ``poll --once`` releases held summaries and runs the digests whose time passed.

Regression: summaries and digests were released only by the daemon's scheduler, so under cron
they were never delivered.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main

from .conftest import T0, make_article, make_rule
from .test_digests import DIGESTS, fire_times, read_eml

BERLIN = "Europe/Berlin"


async def test_catch_up_releases_a_cooldown_summary(make_harness, tmp_path: Path):
    h = make_harness()
    rule = make_rule(cooldown=timedelta(minutes=30))
    h.raise_alert(rule, make_article("a1"), now=T0)
    await h.notifier.deliver_due(T0)
    h.raise_alert(rule, make_article("a2"), now=T0 + timedelta(minutes=1))
    h.raise_alert(rule, make_article("a3"), now=T0 + timedelta(minutes=2))
    assert len(read_eml(tmp_path / "mail")) == 1  # the other two are held
    await h.notifier.catch_up(T0 + timedelta(minutes=10))
    await h.notifier.deliver_due(T0 + timedelta(minutes=10))
    assert len(read_eml(tmp_path / "mail")) == 1  # not yet: the cooldown runs to T0+30m
    await h.notifier.catch_up(T0 + timedelta(minutes=31))
    await h.notifier.deliver_due(T0 + timedelta(minutes=31))
    mails = read_eml(tmp_path / "mail")
    assert len(mails) == 2 and "Summary" in str(mails[-1]["Subject"])


async def test_a_missed_digest_is_sent_once_however_many_fire_times_passed(
    make_harness, tmp_path: Path
):
    h = make_harness(digests=DIGESTS, timezone=BERLIN)
    _monday_8, _tuesday_8, wednesday_8 = fire_times("0 8 * * 1-5", BERLIN, T0, 3)
    h.raise_alert(make_rule(schedule="morning"), make_article("a1"), now=T0)
    assert await h.notifier.digests.run_due(T0 + timedelta(hours=1)) == []  # not 08:00 yet
    # The cron job did not run for two mornings: one digest, for the latest fire time.
    built = await h.notifier.digests.run_due(wednesday_8 + timedelta(hours=3))
    assert len(built) == 1
    assert await h.notifier.digests.run_due(wednesday_8 + timedelta(hours=4)) == []
    await h.notifier.deliver_due(wednesday_8 + timedelta(hours=4))
    [mail] = read_eml(tmp_path / "mail")
    assert "morning" in str(mail["Subject"]).lower() or "digest" in str(mail["Subject"]).lower()
    h.raise_alert(
        make_rule(schedule="morning"), make_article("a2"), now=wednesday_8 + timedelta(hours=5)
    )
    [status] = await h.notifier.digests.status(wednesday_8 + timedelta(hours=5))
    assert status.last_run == wednesday_8 and status.next_run is not None
    assert status.next_run > wednesday_8


def test_digests_list_and_send_from_the_command_line(tmp_path: Path):
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
feeds = []
[rules]
paths = []
watch = false
[channels.box]
type = "folder"
path = "{tmp_path / "mail"}"
[digests.morning]
cron = "0 8 * * *"
send_empty = true
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    listed = runner.invoke(main, ["digests", "list", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert "morning" in listed.output and "0 8 * * *" in listed.output
    sent = runner.invoke(main, ["digests", "send", "morning", "--config", str(config)])
    assert sent.exit_code == 0, sent.output
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    unknown = runner.invoke(main, ["digests", "send", "evening", "--config", str(config)])
    assert unknown.exit_code == 2 and "not configured" in unknown.output
