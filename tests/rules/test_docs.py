"""The examples in docs/rules.md are executable: each fenced block is checked here."""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

import pytest

from monitor.rules import EntrySpec, RuleSpec, SetSpec, compile_rules, load_rules
from tests.rules.conftest import article
from tests.rules.corpus import REPO_ROOT

DOC = REPO_ROOT / "docs" / "rules.md"
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


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
