"""The index remembers what each article word satisfies; forgetting must not change results."""

from __future__ import annotations

import pytest

from monitor.rules import RuleSpec, compile_rules
from monitor.rules import index as index_module
from tests.rules.conftest import article

RULES = [
    RuleSpec(id="near", title="t", query="drone* NEAR/2 Iran"),
    RuleSpec(id="phrase", title="t", query='"U.S. forces" AND attack*'),
    RuleSpec(id="count", title="t", query="ATLEAST/2(missile)"),
]
TEXTS = [
    "Iran launched drones at U.S. forces; the attack failed.",
    "A missile, then another missile, hit the base near Iran.",
    "Drone strikes: Iran's drones attacked U.S. forces again.",
    "Nothing to see here.",
]


def _results(limit: int | None, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    if limit is not None:
        monkeypatch.setattr(index_module, "_CACHE_LIMIT", limit)
    rs = compile_rules([], RULES, lint=False).ruleset
    assert rs is not None
    out: list[object] = []
    for _ in range(3):  # the same articles again: now from the cache (or after forgetting)
        for i, text in enumerate(TEXTS):
            a = article(text, title=TEXTS[-1 - i], id=f"a{i}")
            out.append([(m.rule.id, m.hits) for m in rs.match(a)])
    return out


def test_forgetting_the_word_cache_between_articles_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remembered = _results(None, monkeypatch)
    assert any(remembered)
    assert _results(3, monkeypatch) == remembered  # forgets before nearly every article
