"""The feed samples copied into ``fixtures/`` (see its PROVENANCE.md), and helpers to read them."""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def sample(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def declared_content_type(body: bytes) -> str | None:
    """The ``Header: Content-type: ...`` a feedparser test case says it is served with."""
    found = re.search(rb"Header:\s*Content-type:\s*(.+)", body, re.IGNORECASE)
    return found.group(1).strip().decode("ascii") if found else None
