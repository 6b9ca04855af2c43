"""The pure core: shingles, signatures, band keys, the similarity check."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.models import Article
from monitor.stories import Fingerprinter, StoriesConfig
from monitor.stories.minhash import (
    band_keys,
    from_bytes,
    lsh_params,
    signature,
    similarity,
    to_bytes,
)
from monitor.stories.shingles import lede, shingles, story_words, words

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WIRE = Article(
    id="wire-1",
    feed="wire",
    title="Iranian proxies launch drone attack on U.S. base in eastern Syria",
    link="https://wire.example/1",
    published=NOW,
    summary=(
        "Iran-backed militias launched a drone attack on a base housing U.S. troops in eastern "
        "Syria on Tuesday, a Pentagon spokesman said, the third such attack this week.\n\n"
        "No casualties were reported."
    ),
)


def test_words_are_normalised_and_scripts_without_spaces_split_per_character() -> None:
    assert words("Ｔｅｈｒａｎ's DRONE-attack, 2024!", 10) == [
        "tehran",
        "s",
        "drone",
        "attack",
        "2024",
    ]
    assert words("東京で地震", 10) == ["東", "京", "で", "地", "震"]
    assert words("Москва заявила", 10) == ["москва", "заявила"]
    assert words("one two three", 2) == ["one", "two"]


def test_only_the_title_and_the_first_paragraph_count() -> None:
    assert lede(WIRE).endswith("this week.")
    assert "casualties" not in story_words(WIRE)
    no_summary = replace(WIRE, summary="", content="First paragraph.\n\nSecond one.")
    assert lede(no_summary) == "First paragraph."


def test_shingles_of_short_and_empty_texts() -> None:
    assert shingles([]) == set()
    assert shingles(["one"]) == {"one"}
    assert shingles(["a", "b", "c"], 2) == {"a b", "b c"}


def test_signatures_are_deterministic_across_processes() -> None:
    """Never Python's salted hash(): another process (another PYTHONHASHSEED) agrees."""
    fp = Fingerprinter(StoriesConfig())
    mine = fp.of(WIRE)
    assert mine is not None
    code = (
        "from tests.stories.test_core import WIRE; from monitor.stories import *;"
        "f = Fingerprinter(StoriesConfig()).of(WIRE); print(f.bands[:3], sum(f.signature))"
    )
    for seed in ("1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).resolve().parents[2],
        ).stdout.strip()
        assert out == f"{mine.bands[:3]} {sum(mine.signature)}"


def test_signature_round_trips_and_estimates_jaccard() -> None:
    a = {f"w{i} w{i + 1}" for i in range(100)}
    b = {f"w{i} w{i + 1}" for i in range(50, 150)}  # Jaccard 50/150
    sa, sb = signature(a, 256), signature(b, 256)
    assert from_bytes(to_bytes(sa)) == sa
    assert similarity(sa, sa) == 1.0
    assert abs(similarity(sa, sb) - 1 / 3) < 0.1
    with pytest.raises(ValueError):
        signature([], 128)
    with pytest.raises(ValueError):
        similarity(sa, sa[:10])


def test_lsh_parameters_put_the_threshold_between_the_bands() -> None:
    bands, rows = lsh_params(0.5, 128)
    assert (bands, rows) == (16, 4)  # measured: fewer index rows, the same recall as 25 x 5
    # the candidate probability is steep around the threshold
    assert 1 - (1 - 0.8**rows) ** bands > 0.99
    assert 1 - (1 - 0.2**rows) ** bands < 0.05
    assert lsh_params(0.5, 128, 16) == (16, 8)
    assert len(band_keys(signature({"x"}, 128), bands, rows)) == bands


def test_an_edited_copy_is_the_same_story_and_another_story_is_not() -> None:
    fp = Fingerprinter(StoriesConfig())
    copy = replace(
        WIRE,
        id="outlet-9",
        feed="outlet",
        title="Iranian proxies launch drone attack on US base in Syria - Outlet News",
        summary="BEIRUT (Outlet) - " + WIRE.summary.split("\n\n")[0],
    )
    other = replace(
        WIRE,
        id="other",
        title="Iran says it will retaliate against any attack on its territory",
        summary="Iran's foreign minister warned on Tuesday that Tehran would respond to any "
        "attack on its soil, as tensions with Washington rose after drone strikes in Syria.",
    )
    a, b, c = fp.of(WIRE), fp.of(copy), fp.of(other)
    assert a is not None and b is not None and c is not None
    assert fp.same_story(a.signature, b.signature)
    assert set(a.bands) & set(b.bands)
    assert not fp.same_story(a.signature, c.signature)


@pytest.mark.parametrize(
    "title,summary",
    [
        ("", ""),
        ("Breaking", ""),
        ("x" * 5_000_000, ""),  # one 5 MB word
        ("word " * 1_000_000, "lede " * 1_000_000),  # 5 MB of words each
        ("\x00\x01\ud7ff\ufffd" * 1000, "\u202e" * 1000),
    ],
)
def test_hostile_text_is_bounded_and_never_fails(title: str, summary: str) -> None:
    fp = Fingerprinter(StoriesConfig())
    got = fp.of(replace(WIRE, title=title, summary=summary))
    assert got is None or len(got.signature) == 128


def test_non_latin_copies_fold() -> None:
    fp = Fingerprinter(StoriesConfig())
    zh = replace(
        WIRE,
        title="日本东北部发生7.1级地震 暂无海啸预警",
        summary="日本气象厅表示，当地时间周二晚间日本东北部海域发生7.1级地震，震源深度约50公里。",
    )
    zh_copy = replace(zh, title="日本东北部发生7.1级地震", summary=zh.summary + "（完）")
    a, b = fp.of(zh), fp.of(zh_copy)
    assert a is not None and b is not None and fp.same_story(a.signature, b.signature)


def test_config_checks_its_values() -> None:
    assert StoriesConfig().window_hours == 24
    with pytest.raises(ValidationError):
        StoriesConfig(similarity=0)
    with pytest.raises(ValidationError):
        StoriesConfig(num_perm=64, bands=65)
    with pytest.raises(ValidationError):
        StoriesConfig(window="1d")  # type: ignore[call-arg]
    # regression: a window of 10^9 hours put its start before year 1 and every ingest failed
    with pytest.raises(ValidationError, match="less than or equal"):
        StoriesConfig(window_hours=1e9)
    with pytest.raises(ValidationError):
        StoriesConfig(update_minutes=1e12)
    assert lsh_params(1.0, 128) == (1, 128)  # identical only: every position must agree
