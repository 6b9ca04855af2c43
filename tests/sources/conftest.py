"""Fixtures for the sources tests: the loopback HTTP server and the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import http_server  # noqa: F401  (the fixture, re-exported for these tests)
from tests.sources.samples import CORPUS


@pytest.fixture
def corpus() -> Path:
    """The shared offline corpus; tests that need it skip when it is not installed."""
    if not (CORPUS / "feeds").is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS
