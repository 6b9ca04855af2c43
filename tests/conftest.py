"""Fixtures shared by the pipeline, poller and daemon tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.stores")  # imported by a conftest before it is a plugin

from monitor.config import Settings, resolve_paths  # noqa: E402

pytest_plugins = ["tests.servers", "tests.stores"]  # loopback HTTP servers; real stores

from tests.notifiers.conftest import webhook_receiver  # noqa: E402, F401  (for the daemon tests)

ROOT = Path(__file__).resolve().parent.parent
SEED_RSS = ROOT / "seeds" / "seed-feed.rss"
SEED_ATOM = ROOT / "seeds" / "seed-feed.atom"
SEED_ID = "urn:news-monitor:seed:000_7ed2b3815cf36a3a"
SEED_TITLE = (
    "Iranian-backed Militias Poised to Escalate Attacks on US Forces in the Middle East, "
    "Intelligence Reveals"
)

MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeSettings:
    """Settings as a config file in ``tmp_path`` would give them, with the environment cleared."""
    import os

    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)

    def make(**values: Any) -> Settings:
        values.setdefault("channels", {"mail-folder": {"type": "folder", "path": "mail"}})
        values.setdefault("rules", {"paths": [str(ROOT / "rules")], "watch": False})
        return resolve_paths(Settings(**values), tmp_path)

    return make
