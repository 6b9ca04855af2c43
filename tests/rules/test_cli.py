"""The analyst tools, run through the real ``monitor`` command group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main

RULES = """\
actors:
  iran: [Iran, Tehran]
rules:
  - id: iran-drones
    title: Iran and drones
    severity: high
    query: '@iran AND drone*'
    examples:
      match: ["Iran flew drones"]
      no_match: ["Tehran traffic"]
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "r.yaml").write_text(RULES, encoding="utf-8")
    return d


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_rules_check_ok_and_errors(rules_dir: Path) -> None:
    code, out, _ = run("rules", "check", str(rules_dir))
    assert code == 0 and "ok: 1 rules, 1 sets" in out
    (rules_dir / "bad.yaml").write_text("rules:\n  - {id: b, title: B, query: '@irn'}\n")
    code, _, err = run("rules", "check", str(rules_dir))
    assert code == 1
    assert "bad.yaml:2:31: unknown set @irn (did you mean @iran?)" in err


def test_rules_check_uses_config_for_channels(rules_dir: Path, tmp_path: Path) -> None:
    (rules_dir / "n.yaml").write_text(
        "rules:\n  - {id: n, title: N, query: x, notify: [pager], examples: {match: [x]}}\n"
    )
    config = tmp_path / "monitor.toml"
    config.write_text('[channels.console]\ntype = "console"\n')
    code, _, err = run("rules", "check", "--config", str(config), str(rules_dir))
    assert code == 1 and "unknown channel pager" in err


def test_rules_test_reports_failures(rules_dir: Path) -> None:
    code, out, _ = run("rules", "test", str(rules_dir))
    assert code == 0 and "2 examples, 0 failed" in out
    (rules_dir / "r.yaml").write_text(
        RULES.replace('no_match: ["Tehran traffic"]', 'no_match: ["Iran drone"]')
    )
    code, out, _ = run("rules", "test", str(rules_dir))
    assert code == 1
    assert "rule iran-drones: example should not match but does: 'Iran drone'" in out
    assert "r.yaml:10" in out


def test_rules_test_on_shipped_rules(repo_root: Path) -> None:
    code, out, err = run("rules", "test", str(repo_root / "monitor" / "data" / "rules"))
    assert code == 0, out + err
    assert " 0 failed" in out


def test_rules_stats(rules_dir: Path) -> None:
    code, out, _ = run("rules", "stats", str(rules_dir))
    assert code == 0
    assert "rules" in out and "1 (high 1)" in out and "trie nodes" in out
    assert "rule set version" in out


def test_match_jsonl_from_stdin_json_output(rules_dir: Path) -> None:
    lines = "\n".join(
        [
            json.dumps({"id": "a1", "title": "Iran", "content": "Drones seen over Tehran"}),
            json.dumps({"id": "a2", "title": "Sports", "content": "Football"}),
        ]
    )
    code, out, _ = run("match", "--rules", str(rules_dir), "--json", "-", stdin=lines)
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["article_id"] == "a1" and row["rule_id"] == "iran-drones"
    assert row["severity"] == "high"
    assert {"field": "content", "start": 0, "end": 6, "text": "Drones", "term": "drone*"} in row[
        "hits"
    ]


def test_match_exit_codes(rules_dir: Path, tmp_path: Path) -> None:
    txt = tmp_path / "story.txt"
    txt.write_text("\nNothing here\n\nJust weather.\n")
    assert run("match", "--rules", str(rules_dir), str(txt))[0] == 1
    txt.write_text("Iran news\n\nA drone was seen.\n")
    code, out, _ = run("match", "--rules", str(rules_dir), str(txt))
    assert code == 0 and "iran-drones" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "title": "Iran drone"}\nnot json\n')
    code, out, err = run("match", "--rules", str(rules_dir), "--json", str(bad))
    assert code == 2
    assert "bad.jsonl:2: invalid JSON" in err
    assert json.loads(out)["article_id"] == "x"  # the good line is not lost
    assert run("match", "--rules", str(tmp_path / "missing"), str(txt))[0] == 2


def test_match_reads_feeds(rules_dir: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.rss"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Iran update</title><link>https://example.org/1</link>"
        "<description>&lt;p&gt;A &lt;b&gt;drone&lt;/b&gt; was seen&lt;/p&gt;</description></item>"
        "<item><title>Other</title><link>https://example.org/2</link></item>"
        "</channel></rss>"
    )
    code, out, _ = run("match", "--rules", str(rules_dir), "--json", str(feed))
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert [h["text"] for h in row["hits"]] == ["Iran", "drone"]


def test_explain_tree_and_highlights(rules_dir: Path, tmp_path: Path) -> None:
    story = tmp_path / "s.txt"
    story.write_text("Iran\n\nA drone over Tehran.\x1b[31m\n")
    code, out, _ = run(
        "explain", "--rules", str(rules_dir), "--rule", "iran-drones", "--no-color", str(story)
    )
    assert code == 0
    assert "rule iran-drones (high) MATCHES" in out
    assert "✓ AND" in out and "✓ @iran  (2 hits)" in out and "✓ drone*  (1 hit)" in out
    assert "A »drone« over »Tehran«." in out
    assert "\x1b" not in out  # article text cannot inject terminal escapes


def test_explain_unknown_rule(rules_dir: Path, tmp_path: Path) -> None:
    story = tmp_path / "s.txt"
    story.write_text("x\n")
    result = CliRunner().invoke(
        main, ["explain", "--rules", str(rules_dir), "--rule", "nope", str(story)]
    )
    assert result.exit_code == 2 and "no rule 'nope'" in result.output


def test_rules_check_warns_about_a_rule_without_title(rules_dir: Path) -> None:
    (rules_dir / "t.yaml").write_text(
        "rules:\n  - {id: untitled, query: x, examples: {match: [x]}}\n", encoding="utf-8"
    )
    code, out, err = run("rules", "check", str(rules_dir))
    assert code == 0 and "ok: 2 rules" in out
    assert "t.yaml:2:5: warning: rule untitled has no title" in err


def test_match_takes_several_rule_paths_and_reads_directories_recursively(
    rules_dir: Path, tmp_path: Path
) -> None:
    nested = tmp_path / "more" / "deeper"
    nested.mkdir(parents=True)
    (nested / "w.yml").write_text(
        "rules:\n  - {id: weather, title: W, query: storm*, examples: {match: [storm]}}\n"
    )
    single = tmp_path / "one.yaml"
    single.write_text("rules:\n  - {id: one, title: O, query: drone, examples: {match: [drone]}}\n")
    story = tmp_path / "s.txt"
    story.write_text("Iran\n\nA drone in a storm.\n")
    code, out, err = run(
        "match",
        "--rules", str(rules_dir),
        "--rules", str(tmp_path / "more"),
        "--rules", str(single),
        "--rules", str(rules_dir / "r.yaml"),  # already under rules_dir: read once
        str(story),
    )  # fmt: skip
    assert code == 0, err
    assert sorted(line.split("\t")[1] for line in out.splitlines()) == [
        "iran-drones",
        "one",
        "weather",
    ]
