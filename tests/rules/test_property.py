"""The indexed matcher agrees with the reference evaluation on generated rules and texts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.rules import EntrySpec, RuleSpec, SetSpec, compile_rules
from tests.rules.conftest import article
from tests.rules.reference import Reference

WORDS = [
    "drone",
    "drones",
    "Drone",
    "attack",
    "attacked",
    "Iran",
    "IRAN",
    "U.S.",
    "us",
    "forces",
    "Patriot",
    "patriot",
    "café",
    "cafe",
    "missile",
    "the",
]
SEPARATORS = [" ", " ", " ", "-", ", ", "'s ", ". "]
SETS = {
    "actor": ("Iran", "U.S. forces", "{Patriot}"),
    "weapon": ("drone*", "missile", "@actor"),
}
TERMS = [
    "drone",
    "drones",
    "attack*",
    "dro*",
    "Iran",
    "us",
    "{US}",
    "U.S.",
    "{Patriot}",
    "patriot",
    "cafe",
    "{café}",
    '"drone attack*"',
    '"U.S. forces"',
    "@actor",
    "@weapon",
    "missile",
    "the",
]


def text() -> st.SearchStrategy[str]:
    pair = st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS))
    return st.lists(pair, max_size=14).map(lambda ps: "".join(w + s for w, s in ps))


def positional(depth: int) -> st.SearchStrategy[str]:
    term = st.sampled_from(TERMS)
    if depth <= 0:
        return term
    group = st.lists(term, min_size=2, max_size=3).map(lambda ts: "(" + " OR ".join(ts) + ")")
    return st.one_of(term, group)


def query(depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        positional(1),
        st.tuples(st.sampled_from(["title:", "content:"]), positional(1)).map("".join),
    )
    if depth == 0:
        return leaf
    sub = query(depth - 1)
    near = st.tuples(
        positional(1), st.sampled_from(["NEAR", "ONEAR"]), st.integers(0, 3), positional(1)
    ).map(lambda t: f"{t[0]} {t[1]}/{t[2]} {t[3]}")
    return st.one_of(
        leaf,
        near,
        st.tuples(sub, st.sampled_from([" AND ", " OR ", " NOT ", " "]), sub).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"
        ),
        st.tuples(st.integers(1, 3), positional(1)).map(lambda t: f"ATLEAST/{t[0]}({t[1]})"),
        st.tuples(st.integers(1, 2), sub, sub, sub).map(
            lambda t: f"ATLEAST/{t[0]}({t[1]}, {t[2]}, {t[3]})"
        ),
        # n close to the number of operands: the candidates are filtered by a second
        # group of operands one of which must hold (3 of 4: one of the other two).
        st.tuples(st.integers(2, 4), leaf, leaf, leaf, leaf).map(
            lambda t: f"ATLEAST/{t[0]}({t[1]}, {t[2]}, {t[3]}, {t[4]})"
        ),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.lists(query(), min_size=1, max_size=6),
    title=text(),
    content=text(),
)
def test_index_agrees_with_reference(queries: list[str], title: str, content: str) -> None:
    sets = [SetSpec(name, tuple(EntrySpec(e) for e in entries)) for name, entries in SETS.items()]
    specs = [RuleSpec(id=f"r{i}", title="t", query=q) for i, q in enumerate(queries)]
    result = compile_rules(sets, specs, lint=False)
    if result.ruleset is None:
        # The generator can write NOT inside NEAR or a query with no positive term.
        assert all(
            "contains none of its terms" in e.message or "operand" in e.message
            for e in result.errors
        ), [e.message for e in result.errors]
        return
    rs = result.ruleset
    a = article(content, title=title)
    got = {
        m.rule.id: {(h.field, h.start, h.end, h.term, h.set_name) for h in m.hits}
        for m in rs.match(a)
    }
    ref = Reference(a, rs.sets, ("title", "summary", "content"))
    expected = {}
    for spec in specs:
        hits = ref.match(spec.query)
        if hits is not None:
            expected[spec.id] = hits
    assert got == expected
