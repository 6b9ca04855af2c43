"""The tokenizer: words, possessives, hyphens, acronyms, case and accent folding."""

from __future__ import annotations

import pytest

from monitor.rules.tokenize import exact_form, fold, scan, spans, tokenize


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
