"""Every ```toml block in the README and docs/ is a configuration the real loader accepts.

Examples are copied by operators; one that does not load (a key under the wrong table, a
channel that does not exist) costs them an evening. Secrets are never in the examples:
the variables a block names in its comments (``MONITOR_CHANNELS__DESK__PASSWORD``) are set
to a placeholder, as the operator would set them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```toml[ \t]*\n(.*?)^```", re.S | re.M)
_ENV = re.compile(r"#.*?\b(MONITOR_[A-Z0-9_]+)")


def toml_blocks() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for n, body in enumerate(_FENCE.findall(text), start=1):
            found.append((f"{doc.relative_to(ROOT)}#{n}", body))
    return found


BLOCKS = toml_blocks()


def test_the_docs_have_toml_examples() -> None:
    assert any(name.startswith("README.md#") for name, _ in BLOCKS)
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize(("name", "body"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_toml_block_loads(
    name: str, body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)
    for line in body.splitlines():
        for variable in _ENV.findall(line):
            monkeypatch.setenv(variable, "placeholder-secret")
    config = tmp_path / "monitor.toml"
    config.write_text(body, encoding="utf-8")
    load_settings(config)  # raises ConfigError naming the key on a bad example


def test_readme_complete_example_keeps_its_top_level_keys() -> None:
    """The complete example's ``opml`` and ``default_channels`` are top-level settings."""
    [(_, body)] = [b for b in BLOCKS if "reuters-world" in b[1] and b[0].startswith("README")]
    import tomllib

    data = tomllib.loads(body)
    assert data["opml"] == "feeds.opml" and data["default_channels"] == ["desk"]
