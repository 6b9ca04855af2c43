"""``monitor backtest`` over a store filled by a real poll of the seed feeds."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from tests.conftest import SEED_ID, SEED_RSS, SEED_TITLE, STARTER_RULES


def test_backtest_reports_per_rule_compares_and_writes_json(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
[[feeds]]
name = "seed-rss"
url = "{SEED_RSS}"
backfill_hours = -1
[rules]
paths = ["{STARTER_RULES}"]
watch = false
[channels.box]
type = "folder"
path = "{tmp_path / "mail"}"
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    polled = runner.invoke(main, ["poll", "--once", "--config", str(config)])
    assert polled.exit_code == 0, polled.output
    mails = len(list((tmp_path / "mail").glob("*.eml")))

    report = runner.invoke(main, ["backtest", "--since", "3000d", "--config", str(config)])
    assert report.exit_code == 0, report.output
    assert "houthi-missile-intercepts" in report.output and "2023-10-23 █" in report.output
    assert SEED_TITLE[:40] in report.output

    (tmp_path / "try.yaml").write_text(
        "rules:\n  - id: houthi-missile-intercepts\n    title: Narrower\n    severity: low\n"
        "    query: 'Houthi AND nonexistentword'\n"
        "  - id: militia-broad\n    title: Militias\n    severity: low\n    query: militia*\n",
        encoding="utf-8",
    )
    tried = runner.invoke(
        main, ["backtest", "--rules", str(tmp_path / "try.yaml"), "--since", "3000d",
               "--config", str(config)],
    )  # fmt: skip
    assert tried.exit_code == 0, tried.output
    assert "militia-broad — Militias: 1 article(s)" in tried.output
    assert "1 newly" in tried.output  # the broad rule is new
    assert "no longer matched" in tried.output and "- " + SEED_TITLE[:40] in tried.output

    as_json = runner.invoke(
        main, ["backtest", "--json", "--rule", "houthi-missile-intercepts", "--since", "3000d",
               "--config", str(config)],
    )  # fmt: skip
    [line] = as_json.output.strip().splitlines()
    record = json.loads(line)
    assert record["article_id"] == SEED_ID and record["feed"] == "seed-rss"
    assert record["published"].startswith("2023-10-23") and record["hits"]
    assert len(list((tmp_path / "mail").glob("*.eml"))) == mails  # no alert was raised

    bad = runner.invoke(main, ["backtest", "--since", "soon", "--config", str(config)])
    assert bad.exit_code == 2 and "--since" in bad.output
