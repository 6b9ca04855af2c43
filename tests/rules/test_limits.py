"""Hostile or mistaken input ends in an error at file:line:column, never in a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.rules import EntrySpec, RuleSpec, SetSpec, compile_rules, load_rules
from monitor.rules.loader import DEFAULT_MAX_FILE_BYTES
from monitor.rules.query import MAX_QUERY_DEPTH
from monitor.rules.yaml_compose import MAX_YAML_DEPTH, compose


def load_errors(path: Path, **kw: object) -> list[str]:
    result = load_rules([path], **kw)  # type: ignore[arg-type]
    assert result.ruleset is None
    return [str(e).replace(str(path.parent) + "/", "") for e in result.errors]


def rule_file(tmp_path: Path, query: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(f"rules:\n  - id: r\n    query: '{query}'\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("(" * 200 + "drone" + ")" * 200, 13 + MAX_QUERY_DEPTH),
        ("NOT " * 300 + "drone rocket", 13 + 4 * MAX_QUERY_DEPTH),
        ("title:(" * 100 + "x" + ")" * 100, 13 + 7 * (MAX_QUERY_DEPTH // 2)),  # 2 levels each
        ("ATLEAST/1(" * 100 + "drone" + ")" * 100, 13 + 10 * MAX_QUERY_DEPTH),
    ],
)
def test_deeply_nested_query_is_an_error(tmp_path: Path, query: str, column: int) -> None:
    (error,) = load_errors(rule_file(tmp_path, query))
    assert error.startswith(f"r.yaml:3:{column}: the query is nested more than 64 levels deep"), (
        error
    )


def test_query_nested_to_the_limit_loads(tmp_path: Path) -> None:
    depth = MAX_QUERY_DEPTH
    path = rule_file(tmp_path, "(" * depth + "drone OR rocket" + ")" * depth)
    assert load_rules([path]).ruleset is not None


def deep_flow(depth: int) -> str:
    return (
        "rules:\n  - id: r\n    query: x\n    examples: " + "[" * depth + "x" + "]" * depth + "\n"
    )


def deep_block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"


@pytest.mark.parametrize("use_c", [True, False])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (deep_flow(500), "r.yaml:4:76: invalid YAML: nested more than 64 levels deep"),
        (deep_flow(5000), "r.yaml:4:76: invalid YAML: nested more than 64 levels deep"),
        (deep_block(500), "r.yaml:64:127: invalid YAML: nested more than 64 levels deep"),
    ],
)
def test_deeply_nested_yaml_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_c: bool, text: str, expected: str
) -> None:
    if not use_c:
        monkeypatch.setattr("monitor.rules.yaml_compose._C_LOADER", None)
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    (error,) = load_errors(path)
    assert error.startswith(expected), error


def test_yaml_nested_to_the_limit_composes() -> None:
    # The root mapping is level 1, its value level 2, …: MAX_YAML_DEPTH levels in all.
    text = "a: " + "[" * (MAX_YAML_DEPTH - 2) + "x" + "]" * (MAX_YAML_DEPTH - 2) + "\n"
    for use_c in (True, False):
        assert compose(text, use_c=use_c) is not None
        with pytest.raises(yaml.YAMLError):
            compose(text.replace("[", "[[", 1).replace("]", "]]", 1), use_c=use_c)


def test_an_alias_does_not_count_as_nesting() -> None:
    inner = "[" * (MAX_YAML_DEPTH - 3) + "x" + "]" * (MAX_YAML_DEPTH - 3)
    text = f"a: &deep {inner}\nb: [*deep]\n"
    for use_c in (True, False):
        root = compose(text, use_c=use_c)
        assert isinstance(root, yaml.MappingNode)


def test_sets_nested_too_deep_are_an_error() -> None:
    n = 200
    sets = [SetSpec(f"s{i}", (EntrySpec(f"@s{i + 1}"),)) for i in range(n)]
    sets.append(SetSpec(f"s{n}", (EntrySpec("drone"),)))
    result = compile_rules(sets, [RuleSpec("r", "r", "@s0")], lint=False)
    assert [e.message.split(" (")[0] for e in result.errors] == [
        "sets include each other more than 64 levels deep"
    ]
    ok = sets[n - 63 :]  # a chain of 64 sets
    assert compile_rules(ok, [RuleSpec("r", "r", f"@s{n - 63}")], lint=False).ok


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    text = "rules:\n  - {id: r, title: T, query: x, examples: {match: [x]}}\n"
    path.write_text(text, encoding="utf-8")
    size = len(text.encode())
    assert load_rules([path], max_file_bytes=size).ruleset is not None
    (error,) = load_errors(path, max_file_bytes=size - 1)
    assert error == (
        f"big.yaml:1:1: file too large: {size} bytes, more than the {size - 1} allowed"
        " (rules.max_file_bytes): split it into several rule files"
    )


def test_the_default_size_limit_is_ten_megabytes() -> None:
    assert DEFAULT_MAX_FILE_BYTES == 10_000_000


def test_crlf_files_keep_their_positions(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"rules:\r\n  - id: r\r\n    title: T\r\n    query: '@nope'\r\n")
    assert load_errors(path) == ["r.yaml:4:13: unknown set @nope"]
