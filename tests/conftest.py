"""Fixtures shared by the pipeline, poller and daemon tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.stores")  # imported by a conftest before it is a plugin

from monitor.config import Settings, resolve_paths  # noqa: E402
from monitor.rules import RuleSet, load_rules  # noqa: E402

pytest_plugins = ["tests.servers", "tests.stores"]  # loopback HTTP servers; real stores

from tests.notifiers.conftest import webhook_receiver  # noqa: E402, F401  (for the daemon tests)

ROOT = Path(__file__).resolve().parent.parent
SEED_RSS = ROOT / "monitor" / "data" / "seeds" / "seed-feed.rss"
SEED_ATOM = ROOT / "monitor" / "data" / "seeds" / "seed-feed.atom"
STARTER_RULES = ROOT / "monitor" / "data" / "rules"
SEED_ID = "urn:news-monitor:seed:000_7ed2b3815cf36a3a"
SEED_TITLE = (
    "Iranian-backed Militias Poised to Escalate Attacks on US Forces in the Middle East, "
    "Intelligence Reveals"
)

MakeSettings = Callable[..., Settings]


@pytest.fixture(autouse=True)
def _private_user_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default data directory is per user: no test may write into the real one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeSettings:
    """Settings as a config file in ``tmp_path`` would give them, with the environment cleared."""
    import os

    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)

    def make(**values: Any) -> Settings:
        values.setdefault("channels", {"mail-folder": {"type": "folder", "path": "mail"}})
        values.setdefault("rules", {"paths": [str(STARTER_RULES)], "watch": False})
        values.setdefault("data_dir", "data")  # under tmp_path, not the user's data directory
        return resolve_paths(Settings(**values), tmp_path)

    return make


def ruleset_from(directory: Path, text: str) -> RuleSet:
    """The rule set of one YAML text, written to ``directory/rules.yaml``; it must load."""
    (directory / "rules.yaml").write_text(text, encoding="utf-8")
    result = load_rules([directory / "rules.yaml"])
    assert result.ruleset is not None, result.errors
    return result.ruleset
