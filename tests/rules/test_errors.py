"""Every kind of error names file:line:column and says what would fix it; warnings lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.rules import load_rules


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str, **kw: object) -> list[str]:
    write(tmp_path, "r.yaml", text)
    result = load_rules([tmp_path], **kw)  # type: ignore[arg-type]
    assert result.ruleset is None
    return [str(e).replace(str(tmp_path) + "/", "") for e in result.errors]


RULE = """\
actors:
  iran: [Iran, Tehran]
rules:
  - id: r1
    title: T
    query: {query}
    examples: {{match: [Iran]}}
"""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("'@irn AND drone'", "r.yaml:6:13: unknown set @irn (did you mean @iran?)"),
        ("'(@iran AND drone'", "r.yaml:6:13: unbalanced parentheses: this ( is never closed"),
        ("'@iran AND drone)'", "r.yaml:6:28: unbalanced parentheses: this ) has no matching ("),
        (
            "'@iran AND dr*'",
            "r.yaml:6:23: prefix dr* is too short: write at least 3 letters before *",
        ),
        ('"@iran NEAR/3 (a AND b)"', "r.yaml:6:27: bad NEAR operand 'a AND b'"),
        ("'@iran NEAR drone'", "r.yaml:6:19: NEAR needs a number, as in NEAR/5"),
        ("'@iran AND'", "r.yaml:6:19: AND needs a term after it"),
        ("'NOT @iran'", "r.yaml:6:13: this query can match an article that contains none"),
        ("'body:x @iran'", "r.yaml:6:13: unknown field body:"),
        ("'\"drone @iran'", "r.yaml:6:13: unterminated phrase"),
        ("'ATLEAST/4(a, b, @iran)'", "r.yaml:6:13: ATLEAST/4 can never hold with only 3 operands"),
        ("'a NEAR/2 b NEAR/2 @iran'", "r.yaml:6:24: NEAR cannot be chained"),
    ],
)
def test_query_errors_point_into_the_query(tmp_path: Path, query: str, expected: str) -> None:
    (error,) = errors_of(tmp_path, RULE.format(query=query))
    assert error.startswith(expected), error


def test_column_mapping_through_double_quotes_and_escapes(tmp_path: Path) -> None:
    text = RULE.format(query='"\\"x y\\" AND @irn"')
    (error,) = errors_of(tmp_path, text)
    assert error.startswith("r.yaml:6:25: unknown set @irn"), error


def test_column_mapping_through_folded_block(tmp_path: Path) -> None:
    text = RULE.format(query=">-\n      @iran AND\n      (dr* OR b)")
    (error,) = errors_of(tmp_path, text)
    assert error.startswith("r.yaml:8:8: prefix dr* is too short"), error


def test_malformed_yaml_gives_a_position_not_a_traceback(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, "rules:\n  - id: x\n    title: [unclosed\n")
    assert error.startswith("r.yaml:4:1: invalid YAML"), error


def test_unquoted_at_sign_is_a_yaml_error(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, "actors:\n  a: [@b]\n")
    assert error.startswith("r.yaml:2:7: invalid YAML"), error


def test_all_errors_of_all_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "rules:\n  - id: a\n    title: A\n    query: '(x'\n")
    write(tmp_path, "b.yaml", "rules: [\n")
    write(
        tmp_path,
        "c.yaml",
        "rules:\n  - id: c\n    title: C\n    query: '@nope'\n    severity: hgh\n",
    )
    result = load_rules([tmp_path])
    got = [str(e).replace(str(tmp_path) + "/", "") for e in result.errors]
    assert result.ruleset is None
    assert [g.split(":")[0] for g in got] == ["a.yaml", "b.yaml", "c.yaml", "c.yaml"]
    assert "unknown set @nope" in got[2]
    assert "unknown severity 'hgh' (did you mean high?)" in got[3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - id: a\n    title: A\n    query: x\n"
            "  - id: a\n    title: B\n    query: y\n",
            "r.yaml:5:5: duplicate rule id a (also defined at",
        ),
        (
            "actors:\n  a: ['@b']\n  b: ['@a']\nrules:\n  - {id: r, title: T, query: '@a'}\n",
            "r.yaml:3:8: set cycle: @a → @b → @a",
        ),
        (
            "actors:\n  a: [x]\nkeywords:\n  a: [y]\nrules:\n  - {id: r, title: T, query: '@a'}\n",
            "r.yaml:4:3: duplicate set a",
        ),
        (
            "rules:\n  - {id: r, title: T, query: x, cooldown: 5 minutes}\n",
            "r.yaml:2:43: cooldown: must be a positive number with a unit",
        ),
        (
            "rules:\n  - {id: r, title: T, query: x, fields: [body]}\n",
            "r.yaml:2:42: unknown field body",
        ),
        (
            "rules:\n  - {id: r, title: T, querry: x}\n",
            "r.yaml:2:23: unknown rule key querry (did you mean query?)",
        ),
        ("rules:\n  - {title: T, query: x}\n", "r.yaml:2:5: rule is missing id:"),
        ("rulez: []\n", "r.yaml:1:1: unknown key rulez (did you mean rules?)"),
        (
            "rules:\n  - {id: r, title: T, query: 'x', notify: [analsts]}\n",
            "r.yaml:2:44: unknown channel analsts (did you mean analysts?)",
        ),
        (
            "rules:\n  - {id: r, title: T, query: 'x', schedule: daily}\n",
            "r.yaml:2:45: unknown digest daily",
        ),
        (
            "rules:\n  - {id: r, title: T, query: 'title:x', fields: [content]}\n",
            "r.yaml:2:31: title: is not searched by this rule",
        ),
    ],
)
def test_rule_and_set_errors(tmp_path: Path, text: str, expected: str) -> None:
    errors = errors_of(tmp_path, text, channels=["analysts"], digests=["morning"])
    assert any(e.startswith(expected) for e in errors), errors


def test_warnings_do_not_refuse_the_rules(tmp_path: Path) -> None:
    write(
        tmp_path,
        "r.yaml",
        "actors:\n  unused: [x]\n  s: [Iran, 'Iran', con*]\n"
        "rules:\n  - {id: r, title: T, query: '@s and drone'}\n",
    )
    result = load_rules([tmp_path])
    assert result.ruleset is not None
    got = [str(w).replace(str(tmp_path) + "/", "") for w in result.warnings]
    assert any(w.startswith("r.yaml:2:3: warning: set unused is never used") for w in got), got
    assert any("duplicated entry 'Iran' in set s" in w for w in got), got
    assert any("prefix con* also matches common words" in w for w in got), got
    assert any("rule r has no examples" in w for w in got), got
    assert any("'and' is searched as a word; operators are upper case (AND)" in w for w in got), got


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = load_rules([tmp_path / "nope.yaml"])
    assert result.ruleset is None
    assert "no such rule file or directory" in str(result.errors[0])


def test_cooldown_and_defaults(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", "rules:\n  - {id: r, title: T, query: x, cooldown: 90m}\n")
    result = load_rules([tmp_path])
    assert result.ruleset is not None
    rule = result.ruleset.rules[0]
    assert rule.cooldown is not None and rule.cooldown.total_seconds() == 5400
    assert rule.severity == "medium" and rule.schedule == "immediate"
    assert rule.source.endswith("r.yaml:2")


def test_title_is_optional_the_id_stands_in(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", "rules:\n  - {id: r, query: x, examples: {match: [x]}}\n")
    result = load_rules([tmp_path])
    assert result.ruleset is not None, result.errors
    assert result.ruleset.rules[0].title == "r"
    got = [str(w).replace(str(tmp_path) + "/", "") for w in result.warnings]
    assert got == [
        "r.yaml:2:5: warning: rule r has no title: its id is shown in alerts"
        " (add title: What the rule watches)"
    ]


def test_an_empty_title_is_still_an_error(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, "rules:\n  - {id: r, title: '', query: x}\n")
    assert error == "r.yaml:2:20: title: must be a non-empty text", error


def test_every_error_of_a_rule_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "actors:\n  iran: [Iran]\nrules:\n"
        "  - title: T\n    severity: hgh\n    query: '@irn AND (drone'\n"
        "  - id: b\n    schedule: ''\n    query: '@irn'\n",
    )
    assert errors == [
        "r.yaml:4:5: rule is missing id: (add id: my-rule)",
        "r.yaml:5:15: unknown severity 'hgh' (did you mean high?): use one of info, low,"
        " medium, high, critical",
        "r.yaml:6:22: unbalanced parentheses: this ( is never closed",
        "r.yaml:8:15: schedule: must be immediate or the name of a digest",
        "r.yaml:9:13: unknown set @irn (did you mean @iran?)",
    ]


def test_a_duplicate_rule_still_reports_its_query_errors(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "rules:\n  - {id: a, title: A, query: x}\n  - {id: a, title: B, query: '@nope'}\n",
    )
    assert [e.split(": ", 1)[1][:22] for e in errors] == [
        "duplicate rule id a (a",
        "unknown set @nope",
    ], errors


def test_every_error_of_an_example_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "rules:\n  - id: r\n    query: x\n    examples: {match: [{body: x, title: [y]}]}\n",
    )
    assert errors == [
        "r.yaml:4:25: unknown field body in example",
        "r.yaml:4:41: example title: must be a text",
    ], errors
