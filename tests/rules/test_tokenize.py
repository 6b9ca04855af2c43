"""The tokenizer: words, possessives, hyphens, acronyms, case and accent folding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.tokenize import (
    WORD_RE,
    Scanned,
    ascii_view,
    exact_form,
    fold,
    scan,
    spans,
    tokenize,
)


def words(text: str) -> list[str]:
    return [t.exact for t in tokenize(text)]


def test_words_are_runs_of_letters_and_digits() -> None:
    assert words("Drones hit 3 bases, officials said.") == [
        "Drones",
        "hit",
        "3",
        "bases",
        "officials",
        "said",
    ]


def test_possessive_is_not_part_of_the_word() -> None:
    assert words("Iran's proxies and Qatar’s role") == ["Iran", "proxies", "and", "Qatar", "role"]
    assert words("IRAN'S") == ["IRAN"]


def test_apostrophe_other_than_possessive_separates() -> None:
    assert words("won't Kata'ib") == ["won", "t", "Kata", "ib"]


def test_hyphen_separates_words() -> None:
    assert words("Iran-backed IRGC-Quds") == ["Iran", "backed", "IRGC", "Quds"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("U.S.", ["US"]),
        ("U.S.-backed", ["US", "backed"]),
        ("the U.S.'s role", ["the", "US", "role"]),
        ("U.S.A. and e.g.", ["USA", "and", "eg"]),
        ("Mr.Smith", ["Mr", "Smith"]),
        ("3.5 percent", ["3", "5", "percent"]),
        ("plan B. Then", ["plan", "B", "Then"]),
    ],
)
def test_single_letters_joined_by_dots_form_one_word(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_acronym_span_covers_the_dots() -> None:
    text = "in the U.S. today"
    (tok,) = [t for t in tokenize(text) if t.exact == "US"]
    assert text[tok.start : tok.end] == "U.S."


def test_folding_is_case_and_accent_insensitive() -> None:
    assert fold("Café") == fold("CAFE") == "cafe"
    assert fold("Straße") == "strasse"
    assert exact_form("Café") == "Café"
    assert fold("U.S.") == "us"


def test_exact_form_normalises_unicode_composition() -> None:
    assert exact_form("Cafe\u0301") == exact_form("Café")


def test_ascii_fast_path_agrees_with_unicode_path() -> None:
    text = "U.S. forces' drone-attacks on Iran's IRGC, e.g. 3.5 km away; plan B."
    assert [exact_form(w) for w in scan(text)] == words(text)
    assert spans(text) == [(t.start, t.end) for t in tokenize(text)]
    unicode_text = text + " café"
    assert [exact_form(w) for w in scan(unicode_text)] == words(unicode_text)
    assert spans(unicode_text) == [(t.start, t.end) for t in tokenize(unicode_text)]


def test_non_latin_scripts() -> None:
    assert words("Тегеран заявил") == ["Тегеран", "заявил"]


# The fast path (bytes split at a translation table, possessives and acronyms patched in)
# must find exactly the words, and spans, of the regular expression that defines them.
# The alphabet is chosen to make possessives, acronyms and their combinations frequent.
_TRICKY = st.text(alphabet="aAsSbU.'’ -é3£x\n", max_size=40)


@settings(max_examples=500, deadline=None)
@given(_TRICKY)
def test_fast_scan_finds_the_words_of_the_pattern(text: str) -> None:
    expected = [m.group(1) for m in WORD_RE.finditer(text)]
    assert [exact_form(w) for w in scan(text)] == [exact_form(w) for w in expected]
    assert len(scan(text)) == len(expected)


@settings(max_examples=500, deadline=None)
@given(_TRICKY)
def test_spans_of_single_words_agree_with_the_pattern(text: str) -> None:
    expected = [m.span(1) for m in WORD_RE.finditer(text)]
    assert spans(text) == expected
    scanned = Scanned(text)
    assert [scanned.span(i) for i in range(len(scanned.words))] == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("plain ASCII, U.S. and Iran's", bytes),
        ("curly quotes: Iran’s “proxies” — £5", bytes),
        ("a café in Tehran", str),
    ],
)
def test_fast_path_applies_unless_a_non_ascii_letter(text: str, kind: type) -> None:
    assert all(isinstance(w, kind) for w in scan(text))
    assert (ascii_view(text) is not None) == (kind is bytes)


def test_positions_of_many_words_match_one_by_one() -> None:
    text = " ".join(["alpha beta gamma delta alpha epsilon beta zeta"] * 5)
    one_by_one = Scanned(text)
    expected = {
        w: [i for i, x in enumerate(one_by_one.words) if x == w] for w in set(one_by_one.words)
    }
    assert {w: one_by_one.positions(w) for w in expected} == expected
    at_once = Scanned(text)
    at_once.expect(list(expected))
    assert {w: at_once.positions(w) for w in expected} == expected
