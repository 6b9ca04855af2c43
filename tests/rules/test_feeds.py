"""A rule restricted to some feeds, by name or by tag, is skipped for articles of others."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from monitor.rules import RuleSpec, compile_rules, load_rules
from tests.rules.conftest import article

RULES = """\
rules:
  - id: wire
    title: Wires only
    query: drone*
    feeds: [tag:wire, reuters]
    examples: {match: [drone]}
  - id: anywhere
    title: Every feed
    query: drone*
    examples: {match: [drone]}
"""


def load(tmp_path: Path, text: str = RULES) -> object:
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    return load_rules([tmp_path])


def matched(tmp_path: Path, feed: str, tags: tuple[str, ...] = ()) -> list[str]:
    result = load_rules([tmp_path / "r.yaml"])
    assert result.ruleset is not None, result.errors
    a = replace(article("a drone strike"), feed=feed, feed_tags=tags)
    return [m.rule.id for m in result.ruleset.match(a)]


def test_feed_filter_by_name_and_by_tag(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    assert matched(tmp_path, "reuters") == ["wire", "anywhere"]
    assert matched(tmp_path, "ap", ("wire", "us")) == ["wire", "anywhere"]
    assert matched(tmp_path, "blog", ("opinion",)) == ["anywhere"]
    assert matched(tmp_path, "Reuters") == ["anywhere"]  # names are exact
    rule = load_rules([tmp_path]).ruleset.get("wire")  # type: ignore[union-attr]
    assert rule is not None and rule.feeds == ("tag:wire", "reuters")


def test_articles_default_to_no_feed_tags() -> None:
    assert article("x").feed_tags == ()


def test_examples_and_explain_with_a_feed_filter(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    rs = load_rules([tmp_path]).ruleset
    assert rs is not None
    blog = replace(article("a drone strike"), feed="blog")
    assert rs.evaluate("wire", blog) is not None  # examples test the query alone
    ex = rs.explain("wire", blog)
    assert not ex.matched and not ex.feed_admitted and ex.tree.value
    assert rs.explain("wire", replace(blog, feed="reuters")).matched


def test_bad_feed_entries_are_errors(tmp_path: Path) -> None:
    text = (
        "rules:\n  - {id: a, title: A, query: x, feeds: [tags:wire, 'tag:', [x]]}\n"
        "  - {id: b, title: B, query: x, feeds: []}\n"
    )
    result = load(tmp_path, text)
    assert result.ruleset is None  # type: ignore[attr-defined]
    got = [str(e).replace(str(tmp_path) + "/", "") for e in result.errors]  # type: ignore[attr-defined]
    assert got == [
        "r.yaml:2:41: bad feeds entry 'tags:wire' (did you mean tag?): write a feed name"
        " or tag:NAME",
        "r.yaml:2:52: tag: needs the tag's name, e.g. tag:wire",
        "r.yaml:2:60: feeds: must be a list of names",
        "r.yaml:3:40: feeds: must list feed names or tag:NAME, e.g. [tag:wire, reuters]",
    ]


def test_version_changes_with_feeds_only_when_given() -> None:
    plain = RuleSpec("r", "r", "drone")
    a = compile_rules([], [plain], lint=False).ruleset
    b = compile_rules([], [replace(plain, feeds=("reuters",))], lint=False).ruleset
    assert a is not None and b is not None and a.version != b.version
    assert a.version == compile_rules([], [plain], lint=False).ruleset.version  # type: ignore[union-attr]


def test_match_command_reads_feed_and_feed_tags(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(RULES, encoding="utf-8")
    lines = "\n".join(
        json.dumps(row)
        for row in [
            {"id": "1", "feed": "ap", "feed_tags": ["wire"], "content": "drones"},
            {"id": "2", "feed": "blog", "content": "drones"},
        ]
    )
    result = CliRunner().invoke(main, ["match", "--rules", str(rules), "--json", "-"], input=lines)
    assert result.exit_code == 0, result.output
    pairs = [(r["article_id"], r["rule_id"]) for r in map(json.loads, result.stdout.splitlines())]
    assert pairs == [("1", "wire"), ("1", "anywhere"), ("2", "anywhere")]


def test_explain_command_says_the_feed_is_excluded(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    story = tmp_path / "s.jsonl"
    story.write_text(json.dumps({"id": "s", "feed": "blog", "content": "a drone"}) + "\n")
    args = ["explain", "--rules", str(tmp_path / "r.yaml"), "--rule", "wire", str(story)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "rule wire (medium) does not match article s" in result.stdout
    assert "feed blog is not among the rule's feeds: tag:wire, reuters" in result.stdout
