"""Shared fixtures for the rule engine tests: articles, one-off rule sets, the corpus."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.models import Article
from monitor.rules import EntrySpec, RuleSet, RuleSpec, SetSpec, compile_rules
from tests.rules.corpus import DEFAULT_CORPUS, REPO_ROOT

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def article(content: str = "", title: str = "", summary: str = "", id: str = "a1") -> Article:
    return Article(
        id=id,
        feed="test",
        title=title,
        link=None,
        published=EPOCH,
        summary=summary,
        content=content,
    )


def ruleset(
    queries: Mapping[str, str] | Sequence[str],
    sets: Mapping[str, Sequence[str]] | None = None,
    fields: tuple[str, ...] = ("title", "summary", "content"),
) -> RuleSet:
    """Compile rules from queries (ids r0, r1, … for a list); fail the test on any error."""
    items = (
        queries.items()
        if isinstance(queries, Mapping)
        else ((f"r{i}", q) for i, q in enumerate(queries))
    )
    specs = [RuleSpec(id=rid, title=rid, query=q, fields=fields) for rid, q in items]
    set_specs = [
        SetSpec(name, tuple(EntrySpec(e) for e in entries))
        for name, entries in (sets or {}).items()
    ]
    result = compile_rules(set_specs, specs, lint=False)
    assert result.ruleset is not None, [str(e) for e in result.errors]
    return result.ruleset


@pytest.fixture
def matches() -> Callable[..., bool]:
    """matches(query, content, title=..., sets=...) -> whether the one rule matches."""

    def check(
        query: str,
        content: str = "",
        title: str = "",
        summary: str = "",
        sets: Mapping[str, Sequence[str]] | None = None,
    ) -> bool:
        rs = ruleset([query], sets)
        return bool(rs.match(article(content, title, summary)))

    return check


@pytest.fixture
def corpus() -> Path:
    """The shared corpus (read in place); skip when it is not beside the repository."""
    if not (DEFAULT_CORPUS / "labelled").is_dir():
        pytest.skip(f"corpus not found at {DEFAULT_CORPUS}")
    return DEFAULT_CORPUS


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
