"""Every operator of the query language, with the edge cases the issue names."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.rules.conftest import article, ruleset

Matches = Callable[..., bool]


def test_word_is_case_and_accent_insensitive(matches: Matches) -> None:
    assert matches("drone", "A DRONE flew.")
    assert matches("cafe", "Le Café bombing")
    assert not matches("drone", "Drones flew.")


def test_phrase_needs_consecutive_words(matches: Matches) -> None:
    assert matches('"drone attack"', "a drone attack on")
    assert matches('"drone attack"', "a drone-attack on")
    assert not matches('"drone attack"', "a drone and attack")


def test_prefix(matches: Matches) -> None:
    assert matches("attack*", "they attacked")
    assert matches("attack*", "an attack")
    assert not matches("attack*", "counterattack")
    assert matches('"drone attack*"', "drone attacks continued")
    assert not matches('"drone attack*"', "drone strikes continued")


def test_exact_term_is_case_sensitive(matches: Matches) -> None:
    assert matches("{Patriot}", "extra Patriot batteries")
    assert not matches("{Patriot}", "a patriot act")
    assert matches('{"Quds Force"}', "the Quds Force said")
    assert not matches('{"Quds Force"}', "the quds force said")


def test_exact_term_is_accent_sensitive(matches: Matches) -> None:
    assert matches("{Café}", "Café Nero")
    assert not matches("{Café}", "Cafe Nero")


def test_acronyms_and_possessives(matches: Matches) -> None:
    assert matches("US", "the U.S. said")
    assert matches("U.S.", "the US said")
    assert matches("{US}", "the U.S. said")
    assert not matches("{US}", "told us so")
    assert matches("Iran", "Iran's proxies")
    assert matches('"Iran backed"', "Iran-backed militia")
    assert matches("Iran", "Iran-backed militia")


def test_boolean_operators_and_precedence(matches: Matches) -> None:
    assert matches("drone AND attack", "attack by drone")
    assert matches("drone attack", "attack by drone")  # adjacency is AND
    assert not matches("drone AND attack", "a drone")
    assert matches("drone OR rocket", "a rocket")
    # AND binds tighter than OR: a OR (b AND c)
    assert matches("ship OR drone AND attack", "a ship")
    assert not matches("(ship OR drone) AND attack", "a ship")


def test_not_binary_and_unary(matches: Matches) -> None:
    assert matches("drone NOT show", "drone attack")
    assert not matches("drone NOT show", "drone show")
    assert matches("drone AND NOT show", "drone attack")
    assert not matches("drone AND NOT (show OR festival)", "drone festival")


def test_near_either_order_and_distance(matches: Matches) -> None:
    q = "drone NEAR/2 attack"
    assert matches(q, "drone attack")
    assert matches(q, "attack by a drone")  # two words between, reversed
    assert not matches(q, "drone was not an attack")  # three words between
    assert matches("drone NEAR/0 attack", "drone attack")
    assert not matches("drone NEAR/0 attack", "drone big attack")


def test_onear_is_ordered(matches: Matches) -> None:
    assert matches("drone ONEAR/3 attack", "drone made an attack")
    assert not matches("drone ONEAR/3 attack", "attack by a drone")


def test_near_with_phrases_sets_and_or_groups(matches: Matches) -> None:
    sets = {"us": ["U.S. forces", "Pentagon"]}
    q = '(drone* OR rocket*) NEAR/5 "attack on" NEAR/0 @us'
    with pytest.raises(AssertionError):  # NEAR cannot be chained
        ruleset([q], sets)
    assert matches("(drone* OR rocket*) NEAR/3 @us", "rockets fired at U.S. forces", sets=sets)
    assert not matches("(drone* OR rocket*) NEAR/1 @us", "rockets fired at U.S. forces", sets=sets)


def test_near_operands_do_not_overlap(matches: Matches) -> None:
    assert not matches('drone NEAR/3 "drone attack"', "a drone attack")
    assert matches('drone NEAR/3 "drone attack"', "drone then drone attack")
    assert not matches("drone NEAR/5 drone", "one drone only")
    assert matches("drone NEAR/5 drone", "drone and drone")


def test_near_never_spans_fields(matches: Matches) -> None:
    assert not matches("drone NEAR/5 attack", "attack reported", title="Drone")
    assert matches("drone AND attack", "attack reported", title="Drone")  # AND may


def test_atleast_of_operands(matches: Matches) -> None:
    q = "ATLEAST/2(drone, rocket, missile)"
    assert matches(q, "drone and missile")
    assert not matches(q, "drone and drone")


def test_atleast_single_operand_counts_occurrences(matches: Matches) -> None:
    q = "ATLEAST/3(drone*)"
    assert matches(q, "drone, drones and a drone")
    assert not matches(q, "drone and drones")


def test_field_restrictions(matches: Matches) -> None:
    assert matches("title:drone", "", title="Drone strike")
    assert not matches("title:drone", "drone strike", title="News")
    assert matches('content:"drone strike"', "a drone strike")
    assert matches("summary:(drone OR rocket)", "", summary="rocket fire")
    assert matches("attack NOT title:exercise", "attack", title="Attack report")
    assert not matches("attack NOT title:exercise", "attack", title="Exercise report")


def test_sets_and_nested_sets(matches: Matches) -> None:
    sets = {
        "iran": ["Iran", "Tehran", "@proxies"],
        "proxies": ["Kataib Hezbollah", "Revolutionary Guard*"],
    }
    assert matches("@iran", "Kataib Hezbollah claimed it", sets=sets)
    assert matches("@iran", "the Revolutionary Guards", sets=sets)
    assert not matches("@iran", "Hezbollah alone", sets=sets)


def test_rule_fields_limit_where_terms_hit() -> None:
    rs = ruleset(["drone"], fields=("title",))
    assert rs.match(article("drone", title="News")) == []
    assert rs.match(article("", title="Drone"))


def test_hits_have_offsets_text_term_and_set() -> None:
    rs = ruleset(["@iran AND drone* NEAR/3 attack*"], {"iran": ["Iran", "IRGC"]})
    text = "Iran's IRGC said a drone attacked U.S. bases; later another drone was seen."
    (m,) = rs.match(article(text))
    got = [(h.field, h.text, h.term, h.set_name) for h in m.hits]
    assert got == [
        ("content", "Iran", "Iran", "iran"),
        ("content", "IRGC", "IRGC", "iran"),
        ("content", "drone", "drone*", None),
        ("content", "attacked", "attack*", None),
    ]  # the second drone is not near an attack: not a hit of the NEAR
    for h in m.hits:
        assert text[h.start : h.end] == h.text


def test_negated_terms_are_not_hits() -> None:
    rs = ruleset(["drone NOT show"])
    (m,) = rs.match(article("drone attack"))
    assert [h.term for h in m.hits] == ["drone"]


def test_match_is_in_rule_order_and_only_matching_rules() -> None:
    rs = ruleset({"b": "rocket", "a": "drone", "c": "missile"})
    assert [m.rule.id for m in rs.match(article("drone and missile"))] == ["a", "c"]
    assert rs.get("a") is not None and rs.get("zzz") is None


def test_version_is_stable_and_changes_with_rules() -> None:
    assert ruleset(["drone"]).version == ruleset(["drone"]).version
    assert ruleset(["drone"]).version != ruleset(["rocket"]).version


def test_explain_marks_every_node() -> None:
    rs = ruleset(["drone AND NOT show"])
    ex = rs.explain("r0", article("drone show"))
    assert not ex.matched
    assert ex.tree.label == "AND" and not ex.tree.value
    assert [(c.label, c.value) for c in ex.tree.children] == [("drone", True), ("NOT", False)]
