"""The shipped rules: the seed article matches the rules it is about, with the expected hits;
real articles about other subjects match nothing; every rule's examples pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.models import Article, RuleMatch
from monitor.rules import RuleSet, load_rules
from tests.rules import corpus as corpora
from tests.rules.conftest import EPOCH

SEED_TITLE = (
    "Iranian-backed Militias Poised to Escalate Attacks on US Forces in the Middle East,"
    " Intelligence Reveals"
)
_MIDDLE_EAST = re.compile(
    r"\b(iran\w*|iraq\w*|syria\w*|israel\w*|gulf|lebanon|yemen\w*|saudi|kuwait\w*|qatar\w*|"
    r"persian|tehran|baghdad|hezbollah|missile\w*)\b",
    re.I,
)


@pytest.fixture(scope="module")
def shipped(request: pytest.FixtureRequest) -> RuleSet:
    root = Path(str(request.config.rootpath))
    result = load_rules([root / "monitor" / "data" / "rules"])
    assert result.ruleset is not None, [str(e) for e in result.errors]
    return result.ruleset


@pytest.fixture(scope="module")
def seed(request: pytest.FixtureRequest) -> Article:
    text = (Path(str(request.config.rootpath)) / "seeds" / "seed-article.txt").read_text()
    assert SEED_TITLE in text
    content = text.split(SEED_TITLE, 1)[1].strip()
    return Article(
        id="seed", feed="seed", title=SEED_TITLE, link=None, published=EPOCH, content=content
    )


def by_rule(matches: list[RuleMatch]) -> dict[str, RuleMatch]:
    return {m.rule.id: m for m in matches}


def test_shipped_rules_check_clean(request: pytest.FixtureRequest) -> None:
    result = load_rules(
        [Path(str(request.config.rootpath)) / "monitor" / "data" / "rules"], channels=[], digests=[]
    )
    assert result.ruleset is not None and not result.errors
    assert not result.warnings, [str(w) for w in result.warnings]


def test_seed_matches_the_rules_it_is_about(shipped: RuleSet, seed: Article) -> None:
    found = by_rule(shipped.match(seed))
    assert set(found) == {
        "proxy-attacks-on-us-forces",
        "iraq-syria-strikes",
        "air-defense-deployments",
        "houthi-missile-intercepts",
        "gulf-mediation",
        "diplomatic-warnings",
    }


def hit_set(m: RuleMatch) -> set[tuple[str, str, str | None]]:
    return {(h.field, h.text, h.set_name) for h in m.hits}


def test_seed_hits(shipped: RuleSet, seed: Article) -> None:
    found = by_rule(shipped.match(seed))
    proxy = hit_set(found["proxy-attacks-on-us-forces"])
    assert {
        ("title", "Iranian", "iran"),
        ("title", "Attacks", "attack_words"),
        ("title", "US Forces", "us_forces"),
        ("content", "drone", "strike_weapons"),
        ("content", "U.S. forces", "us_forces"),
        ("content", "IRGC", "iran"),
        ("content", "Quds Force", "iran"),
        ("content", "Revolutionary Guard", "iran"),
    } <= proxy
    air = hit_set(found["air-defense-deployments"])
    assert {
        ("content", "deployment", "deployment"),
        ("content", "air defense systems", "air_defense"),
        ("content", "Terminal High Altitude Area Defense", "air_defense"),
    } <= air
    houthi = hit_set(found["houthi-missile-intercepts"])
    assert {
        ("content", "Houthi", "houthis"),
        ("content", "intercepted", "intercepts"),
        ("content", "U.S. Navy", "us_navy"),
        ("content", "warship", "us_navy"),
        ("content", "missiles", None),
    } <= houthi
    mediation = hit_set(found["gulf-mediation"])
    assert {
        ("content", "Qatar", "mediators"),
        ("content", "intermediary", "mediation"),
    } <= mediation
    for m in found.values():
        for h in m.hits:
            assert seed.text(h.field)[h.start : h.end] == h.text


def test_shipped_examples_pass(shipped: RuleSet) -> None:
    for rule in shipped.rules:
        examples = shipped.examples(rule.id)
        assert examples, rule.id
        for ex in examples:
            texts = ex.field_texts(rule.fields)
            article = Article(
                id="ex",
                feed="-",
                title=texts.get("title", ""),
                link=None,
                published=EPOCH,
                summary=texts.get("summary", ""),
                content=texts.get("content", ""),
            )
            assert (shipped.evaluate(rule.id, article) is not None) == ex.expect, (rule.id, ex)


def test_articles_about_other_subjects_match_nothing(shipped: RuleSet, corpus: Path) -> None:
    checked = 0
    wrong: list[str] = []
    middle_east = corpora.middle_east_reuters_ids(corpus)
    sources = [
        (a for label, a in corpora.ag_news(corpus) if label != "world"),
        (a for label, a in corpora.bbc(corpus) if label != "politics"),
        (
            a
            for _, a in corpora.reuters(corpus)
            if a.id not in middle_east and not _MIDDLE_EAST.search(a.title + " " + a.content)
        ),
    ]
    for source in sources:
        for article in source:
            checked += 1
            wrong.extend(
                f"{article.id} {m.rule.id}: {article.title}" for m in shipped.match(article)
            )
    assert checked > 20_000
    assert wrong == []
