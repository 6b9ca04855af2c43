"""The files shipped inside the package: templates, starter rules, seed feeds, init config.

They live in ``monitor/data/`` and are found with :mod:`importlib.resources`, so an installed
wheel runs its embedded defaults from any working directory — nothing is looked up relative
to a checkout. Jinja's file loader, the rule loader and the feed fetcher all want real paths,
so the package must be installed as files (a normal wheel install, or ``pip install -e``);
a zipped package is refused with a clear error instead of failing at the first alert.

This module imports nothing else from ``monitor`` so that any module may use it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SEED_FEED_KINDS = ("rss", "atom")


class ResourceMissing(RuntimeError):
    """A packaged file is not where the package says: a broken or zipped install."""


def packaged(*parts: str) -> Path:
    """The path of ``monitor/data/<parts>`` in the installed package (it must exist)."""
    resource = files("monitor").joinpath("data", *parts)
    path = Path(str(resource))
    if not path.exists():
        raise ResourceMissing(
            f"packaged file {'/'.join(parts)} not found at {path}: reinstall news-monitor "
            "(it must be installed as files, not zipped)"
        )
    return path


def templates_dir() -> Path:
    """The packaged Jinja2 templates (``alert.txt.j2``, ``webhook/slack.json.j2``...)."""
    return packaged("templates")


def rules_dir() -> Path:
    """The starter watch rules, the default ``rules.paths``."""
    return packaged("rules")


def seeds_dir() -> Path:
    """The seed feeds: the seed article as RSS and Atom, with unrelated real items."""
    return packaged("seeds")


def init_config() -> Path:
    """The commented ``monitor.toml`` that ``monitor init`` writes."""
    return packaged("init", "monitor.toml")


def seed_feed(kind: str) -> Path:
    """``seed-feed.rss`` or ``seed-feed.atom``."""
    if kind not in SEED_FEED_KINDS:
        raise ValueError(f"no seed feed of kind {kind!r} (kinds: {', '.join(SEED_FEED_KINDS)})")
    return packaged("seeds", f"seed-feed.{kind}")
