"""The examples in docs/rules.md are executable: each fenced block is checked here."""

from __future__ import annotations

import functools
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.rules import EntrySpec, RuleSpec, SetSpec, compile_rules, load_rules
from monitor.surges import Member, Replay
from tests.rules.conftest import article
from tests.rules.corpus import REPO_ROOT

DOC = REPO_ROOT / "docs" / "rules.md"
_FENCE = re.compile(r"^```([\w-]+)\n(.*?)^```", re.S | re.M)


def blocks(kind: str) -> list[str]:
    return [body for info, body in _FENCE.findall(DOC.read_text(encoding="utf-8")) if info == kind]


@functools.cache
def doc_sets() -> tuple[SetSpec, ...]:
    """The sets of the doc's rule file, which the query examples use."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.yaml"
        path.write_text(blocks("yaml")[0], encoding="utf-8")
        result = load_rules([path])
    assert result.ruleset is not None
    return tuple(
        SetSpec(n, tuple(EntrySpec(e) for e in es)) for n, es in result.ruleset.sets.items()
    )


def test_doc_has_examples_of_each_kind() -> None:
    assert len(blocks("yaml")) == 1
    assert len(blocks("example")) >= 15
    assert len(blocks("error")) >= 5
    assert len(blocks("surge")) >= 2 and len(blocks("rule-error")) >= 4


def test_rule_file_example_loads_and_its_examples_pass(tmp_path: Path) -> None:
    (tmp_path / "doc.yaml").write_text(blocks("yaml")[0], encoding="utf-8")
    result = load_rules([tmp_path])
    assert result.ruleset is not None, [str(e) for e in result.errors]
    assert not result.errors
    rs = result.ruleset
    for rule in rs.rules:
        for ex in rs.examples(rule.id):
            texts = ex.field_texts(rule.fields)
            a = article(texts.get("content", ""), texts.get("title", ""), texts.get("summary", ""))
            assert (rs.evaluate(rule.id, a) is not None) == ex.expect, (rule.id, ex.describe())


def parse_example(body: str) -> tuple[str, list[tuple[bool, str]]]:
    lines = body.strip().splitlines()
    assert lines[0].startswith("query: ")
    cases = []
    for line in lines[1:]:
        mark, text = line[0], line[2:]
        assert mark in "✓✗", line
        cases.append((mark == "✓", text))
    return lines[0].removeprefix("query: "), cases


def as_article(text: str) -> object:
    if " | " in text and text.startswith("title: "):
        title, content = text.removeprefix("title: ").split(" | content: ")
        return article(content, title=title)
    return article(text)


@pytest.mark.parametrize("body", blocks("example"))
def test_query_examples(body: str) -> None:
    query, cases = parse_example(body)
    result = compile_rules(doc_sets(), [RuleSpec(id="doc", title="doc", query=query)], lint=False)
    assert result.ruleset is not None, [str(e) for e in result.errors]
    for expect, text in cases:
        matched = bool(result.ruleset.match(as_article(text)))  # type: ignore[arg-type]
        assert matched == expect, (query, text)


@pytest.mark.parametrize("body", blocks("error"))
def test_error_examples(body: str) -> None:
    query_line, message_line = body.strip().splitlines()
    query = query_line.removeprefix("query: ")
    expected = message_line.removeprefix("→ ")
    result = compile_rules(doc_sets(), [RuleSpec(id="doc", title="doc", query=query)], lint=False)
    assert result.ruleset is None
    assert any(e.message.startswith(expected) for e in result.errors), result.errors


@pytest.mark.parametrize("body", blocks("surge"))
def test_surge_examples(body: str, tmp_path: Path) -> None:
    """Each line an article (HH:MM feed, ``#id`` for one that several feeds carry: the same
    id); ``→ surge: feeds`` where the surge alert is raised."""
    lines = body.strip().splitlines()
    path = tmp_path / "r.yaml"
    path.write_text(f"rules:\n  - id: r\n    title: T\n    query: x\n    {lines[0]}\n", "utf-8")
    result = load_rules([path])
    assert result.ruleset is not None, [str(e) for e in result.errors]
    rule = result.ruleset.get("r")
    assert rule is not None and rule.surge is not None
    replay = Replay({"r": rule.surge})
    day = datetime(2026, 1, 1, tzinfo=UTC)
    for n, line in enumerate(lines[1:]):
        article, _, expected = line.partition("→")
        clock, feed, *name = article.split()
        hours, minutes = map(int, clock.split(":"))
        at = day + timedelta(hours=hours, minutes=minutes)
        article_id = name[0].removeprefix("#") if name else f"a{n}"
        episodes = replay.add("r", Member(article_id, feed, at))
        if expected.strip():
            feeds = expected.strip().removeprefix("surge: ").split(", ")
            assert [(e.start, list(e.feeds)) for e in episodes] == [(at, feeds)], line
        else:
            assert episodes == (), line


@pytest.mark.parametrize("body", blocks("rule-error"))
def test_rule_error_examples(body: str, tmp_path: Path) -> None:
    line, message = body.strip().splitlines()
    path = tmp_path / "r.yaml"
    path.write_text(f"rules:\n  - id: r\n    title: T\n    query: x\n    {line}\n", "utf-8")
    result = load_rules([path])
    assert result.ruleset is None
    expected = message.removeprefix("→ ")
    assert any(e.message.startswith(expected) for e in result.errors), result.errors
