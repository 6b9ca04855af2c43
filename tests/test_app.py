"""Wiring from settings: the feeds an instance polls, and a start that refuses bad rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app import App, StartupError, configured_feeds
from tests.conftest import MakeSettings

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Desk</title></head><body>
  <outline text="Middle East">
    <outline type="rss" text="Wire ME" xmlUrl="https://wire.example/me.rss"/>
    <outline type="rss" text="seed" xmlUrl="https://dup.example/feed.rss"/>
  </outline>
</body></opml>
"""


def test_opml_feeds_join_the_configured_ones(tmp_path: Path, make_settings: MakeSettings) -> None:
    (tmp_path / "feeds.opml").write_text(OPML, encoding="utf-8")
    settings = make_settings(
        feeds=[
            {"name": "seed", "url": "seed.rss"},
            {"name": "paused", "url": "paused.rss", "enabled": False},
        ],
        opml="feeds.opml",
    )
    feeds = configured_feeds(settings)
    names = [f.name for f in feeds]
    assert "paused" not in names, "disabled feeds are not polled"
    assert names[0] == "seed" and names.count("seed") == 1, "the config wins over the OPML file"
    wire = next(f for f in feeds if f.url == "https://wire.example/me.rss")
    assert "Middle East" in wire.tags


def test_start_is_refused_when_the_rules_have_errors(
    tmp_path: Path, make_settings: MakeSettings
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yaml").write_text(
        "rules:\n  - id: x\n    title: X\n    query: '@nowhere'\n", encoding="utf-8"
    )
    settings = make_settings(feeds=[], rules={"paths": ["rules"], "watch": False})
    with pytest.raises(StartupError, match=r"bad\.yaml:4:\d+: .*nowhere"):
        App.open(settings)
