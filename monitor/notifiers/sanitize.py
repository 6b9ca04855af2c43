"""Making untrusted article text safe for headers and links (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from monitor.notifiers.limits import URL_MAX

_SPACE = re.compile(r"\s+")


def header_text(value: str, *, max_length: int = 250) -> str:
    """One line of printable text: control, format, surrogate and unassigned characters
    (CR/LF included) become spaces.

    Header injection needs a line break; after this there is none, whatever the input.
    """
    cleaned = "".join(
        " " if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") else c
        for c in value
    )
    cleaned = _SPACE.sub(" ", cleaned).strip()
    if len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


def safe_href(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) link, else None (no ``javascript:``, ``data:``)."""
    if not url:
        return None
    candidate = url.strip()
    if len(candidate) > URL_MAX:
        return None
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


_ATOM = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_DOTS = re.compile(r"\.{2,}")


def dot_atom(value: str, *, fallback: str = "x") -> str:
    """A fragment usable inside a Message-ID or List-Id (RFC 5322 dot-atom text)."""
    cleaned = _DOTS.sub(".", _ATOM.sub("-", value)).strip("-.")
    return cleaned or fallback
