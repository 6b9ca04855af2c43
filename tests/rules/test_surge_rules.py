"""``surge:`` in rule files: each bad value is an error at file:line:column saying the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.models import Surge
from monitor.rules import load_rules

RULE = "rules:\n  - id: r\n    title: T\n    query: drone*\n    surge: {value}\n"


def errors_of(tmp_path: Path, value: str) -> list[str]:
    (tmp_path / "r.yaml").write_text(RULE.format(value=value), encoding="utf-8")
    result = load_rules([tmp_path / "r.yaml"])
    assert result.ruleset is None, "the rule set is refused"
    return [str(e).replace(str(tmp_path) + "/", "") for e in result.errors]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", "r.yaml:5:12: surge: must be a mapping, e.g. surge: {sources: 3, within: 2h}"),
        ("[3, 2h]", "r.yaml:5:12: surge: must be a mapping"),
        ("{sources: 3}", "r.yaml:5:12: surge: is missing within: (add within: 2h)"),
        ("{within: 2h}", "r.yaml:5:12: surge: is missing sources: (add sources: 3)"),
        (
            "{sources: 3, within: 2h, feeds: 4}",
            "r.yaml:5:37: unknown surge key feeds (did you mean sources?) (surge keys:",
        ),
        (
            "{sources: 3, window: 2h}",
            "r.yaml:5:25: unknown surge key window (did you mean within?)",
        ),
        (
            "{sources: 3, within: 2h, extra: 1}",
            "r.yaml:5:37: unknown surge key extra (surge keys: sources, within)",
        ),
        (
            "{source: 3, within: 2h}",
            "r.yaml:5:13: unknown surge key source (did you mean sources?)",
        ),
        (
            "{sources: 1, within: 2h}",
            "r.yaml:5:22: surge sources: must be a whole number of distinct feeds, at least 2",
        ),
        ("{sources: 2.5, within: 2h}", "r.yaml:5:22: surge sources: must be a whole number"),
        ("{sources: many, within: 2h}", "r.yaml:5:22: surge sources: must be a whole number"),
        ("{sources: [3], within: 2h}", "r.yaml:5:22: surge sources: must be a whole number"),
        (
            "{sources: 3, within: 2 hours}",
            "r.yaml:5:33: surge within: must be a positive number with a unit s, m, h or d",
        ),
        ("{sources: 3, within: 0m}", "r.yaml:5:33: surge within: must be a positive number"),
        ("{sources: 3, within: }", "r.yaml:5:33: surge within: must be a positive number"),
        ("{sources: 3, within: 8d}", "r.yaml:5:33: surge within: must be at most 7d"),
        ("{sources: 3, sources: 4, within: 2h}", "r.yaml:5:25: duplicate key sources"),
    ],
)
def test_bad_surge_values_are_errors_at_their_place(
    tmp_path: Path, value: str, expected: str
) -> None:
    errors = errors_of(tmp_path, value)
    assert any(e.startswith(expected) for e in errors), errors


def test_a_misspelt_surge_key_gets_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - {id: r, title: T, query: x, surj: {sources: 3, within: 2h}}\n",
        encoding="utf-8",
    )
    result = load_rules([tmp_path / "r.yaml"])
    assert any("unknown rule key surj (did you mean surge?)" in str(e) for e in result.errors)


def test_a_valid_surge_reaches_the_rule_and_changes_the_version(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULE.format(value="{sources: 3, within: 90m}"), "utf-8")
    with_surge = load_rules([tmp_path / "r.yaml"]).ruleset
    (tmp_path / "r.yaml").write_text(RULE.format(value="null"), "utf-8")
    without = load_rules([tmp_path / "r.yaml"]).ruleset
    assert with_surge is not None and without is not None
    rule = with_surge.get("r")
    assert rule is not None and rule.surge == Surge(3, timedelta(minutes=90))
    assert without.get("r") is not None and without.get("r").surge is None  # type: ignore[union-attr]
    assert with_surge.version != without.version
