"""The excerpt and highlights (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.models import Hit
from monitor.notifiers.snippet import segments

from .conftest import SEED_SUMMARY, find_hits


def test_excerpt_marks_every_hit_in_the_window():
    text = "x " * 200 + SEED_SUMMARY + " y" * 200
    hits = find_hits("summary", text, {"drone": None, "Houthi": "actors"})
    segs = segments(text, hits)
    assert [s.text for s in segs if s.hit] == ["drone", "Houthi"]
    assert segs[0].text == "… " and segs[-1].text == " …"
    assert sum(len(s.text) for s in segs) <= 320 + 60


def test_overlapping_hits_merge_and_stale_offsets_are_found_again():
    text = "Iranian-backed Houthi militants"
    hits = [
        Hit("summary", 0, 14, "Iranian-backed", "Iranian-backed"),
        Hit("summary", 8, 21, "backed Houthi", "backed Houthi"),
        Hit("summary", 99, 105, "militants", "militant*"),  # offsets from another text version
    ]
    segs = segments(text, hits)
    assert [(s.text, s.hit) for s in segs] == [
        ("Iranian-backed Houthi", True),
        (" ", False),
        ("militants", True),
    ]


def test_no_hits_gives_the_start_of_the_text():
    assert [s.text for s in segments("short text", [])] == ["short text"]
    long = "word " * 200
    [seg] = segments(long, [])
    assert seg.text.endswith(" …") and len(seg.text) < 340


@given(st.text(min_size=1, max_size=600), st.data())
def test_highlights_are_exactly_the_hits(text: str, data: st.DataObject):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    hit = Hit("summary", start, end, text[start:end], "t")
    segs = segments(text, [hit], width=10_000, context=10_000)
    marked = [s for s in segs if s.hit]
    assert len(marked) == 1
    assert marked[0].text == " ".join(text[start:end].split(" ")).replace("\n", " ") or (
        marked[0].text.split() == text[start:end].split()
    )
