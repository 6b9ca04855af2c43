"""The ``monitor`` command line as an operator uses it: options, init, feeds and alerts tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from tests.conftest import SEED_TITLE

PAGER_RULE = "rules:\n  - {id: n, title: N, query: x, notify: [pager], examples: {match: [x]}}\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def config_with_rules(tmp_path: Path, rules: str = PAGER_RULE, extra: str = "") -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(rules, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'data_dir = "data"\n{extra}\n[rules]\npaths = ["rules"]\n[channels.console]\n'
        'type = "console"\n',
        encoding="utf-8",
    )
    return config


# --config before the sub-command


def test_config_before_the_subcommand(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path)
    result = run("--config", str(config), "rules", "check")
    assert result.exit_code == 1, result.output
    assert "unknown channel pager" in result.stderr
    assert "No such option" not in result.output


def test_config_after_the_subcommand_still_works_and_wins(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path)
    other = tmp_path / "other.toml"
    other.write_text("[store]\nretention_days = 0\n", encoding="utf-8")
    result = run("--config", str(other), "rules", "check", "--config", str(config))
    assert result.exit_code == 1 and "unknown channel pager" in result.stderr


def test_explicit_group_config_wins_over_monitor_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_with_rules(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\n", encoding="utf-8")
    monkeypatch.setenv("MONITOR_CONFIG", str(broken))
    result = run("--config", str(config), "feeds", "list")
    assert result.exit_code == 0, result.output
    assert "seed-rss" in result.stdout


def test_rules_test_without_paths_tests_the_configured_rules(tmp_path: Path) -> None:
    rules = (
        "rules:\n  - id: only\n    title: Only\n    query: zebra\n"
        "    examples: {match: [a zebra], no_match: [a horse]}\n"
    )
    config = config_with_rules(tmp_path, rules)
    for args in (
        ["--config", str(config), "rules", "test"],
        ["rules", "test", "--config", str(config)],
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "2 examples, 0 failed (1 rules" in result.stdout, args


def test_log_options_before_the_subcommand(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, "rules: []\n")
    result = run(
        "--log-level", "debug", "--log-format", "json", "--config", str(config), "feeds", "list"
    )
    assert result.exit_code == 0, result.output
    bad = run("--log-level", "loud", "feeds", "list")
    assert bad.exit_code == 2 and "Invalid value for '--log-level'" in bad.output


# monitor init


def test_init_writes_a_config_rules_and_templates_that_work(tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    result = run("init", str(desk))
    assert result.exit_code == 0, result.output
    assert (desk / "monitor.toml").read_text(encoding="utf-8").startswith("# news-monitor")
    assert sorted(p.name for p in (desk / "rules").glob("*.yaml")) == [
        "middle-east.yaml",
        "sets.yaml",
    ]
    assert (desk / "templates" / "alert.txt.j2").is_file()
    assert (desk / "templates" / "webhook" / "slack.json.j2").is_file()

    config = str(desk / "monitor.toml")
    check = run("--config", config, "rules", "check")
    assert check.exit_code == 0, check.output
    assert check.stdout.startswith("ok: 6 rules")

    # the copied templates are the ones used: an edit shows in the alert
    alert_txt = desk / "templates" / "alert.txt.j2"
    alert_txt.write_text("DESK COPY " + alert_txt.read_text(encoding="utf-8"), encoding="utf-8")
    poll = run("--config", config, "poll", "--once")
    assert poll.exit_code == 0, poll.output
    assert SEED_TITLE in poll.stdout and "DESK COPY" in poll.stdout
    assert (desk / "data" / "monitor.db").is_file()
    assert list((desk / "data" / "mail").glob("*.eml"))


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    assert run("init", str(desk)).exit_code == 0
    (desk / "rules" / "sets.yaml").write_text("# my edits\n", encoding="utf-8")
    again = run("init", str(desk))
    assert again.exit_code == 1
    assert "refusing to overwrite" in again.output and "sets.yaml" in again.output
    assert (desk / "rules" / "sets.yaml").read_text(encoding="utf-8") == "# my edits\n"
    forced = run("init", "--force", str(desk))
    assert forced.exit_code == 0, forced.output
    assert (desk / "rules" / "sets.yaml").read_text(encoding="utf-8") != "# my edits\n"


def test_init_into_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    result = run("init", str(target))
    assert result.exit_code == 2, result.output  # click: not a directory
    assert "is a file" in result.output and "Traceback" not in result.output


# feeds list and alerts list


def test_feeds_list_shows_tags_also_from_opml_folders(tmp_path: Path) -> None:
    (tmp_path / "feeds.opml").write_text(
        '<opml version="2.0"><body><outline text="Middle East"><outline text="Gulf">'
        '<outline text="Gulf wire" xmlUrl="https://example.org/gulf.xml"/>'
        "</outline></outline></body></opml>",
        encoding="utf-8",
    )
    config = config_with_rules(
        tmp_path,
        "rules: []\n",
        extra='opml = "feeds.opml"\n[[feeds]]\nname = "wire"\nurl = "https://example.org/w.xml"\n'
        'tags = ["wire", "world"]\n',
    )
    result = run("feeds", "list", "--config", str(config))
    assert result.exit_code == 0, result.output
    header, _, *rows = result.stdout.splitlines()
    assert header.split()[:2] == ["FEED", "TAGS"]
    assert any(r.startswith("wire") and "wire, world" in r for r in rows), result.stdout
    assert any(r.startswith("Gulf wire") and "Middle East, Gulf" in r for r in rows), result.stdout
    as_json = run("feeds", "list", "--json", "--config", str(config))
    assert '"tags": ["Middle East", "Gulf"]' in as_json.stdout


def test_feeds_list_with_a_broken_opml_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "feeds.opml").write_text("<opml><body><outline></body></opml>", encoding="utf-8")
    config = config_with_rules(tmp_path, "rules: []\n", extra='opml = "feeds.opml"\n')
    result = run("feeds", "list", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "cannot read the feeds:" in result.stderr
    assert "feeds.opml: not well-formed XML at line 1" in result.stderr
    assert "Traceback" not in result.output


def test_tables_show_times_in_the_configured_timezone(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"  # the seed feeds and starter rules: alerts are raised
    config.write_text('data_dir = "data"\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    assert run("poll", "--once", "--config", str(config)).exit_code == 0
    feeds = run("feeds", "list", "--config", str(config))
    assert feeds.exit_code == 0, feeds.output
    [seed_row] = [r for r in feeds.stdout.splitlines() if r.startswith("seed-rss")]
    assert seed_row.count(" JST") == 2, seed_row  # last success, next poll
    alerts = run("alerts", "list", "--config", str(config))
    assert alerts.exit_code == 0, alerts.output
    rows = alerts.stdout.splitlines()[2:]
    assert rows and all(" JST " in r for r in rows), alerts.stdout
    outbox = run("outbox", "list", "--config", str(config))
    assert " JST " in outbox.stdout, outbox.stdout
