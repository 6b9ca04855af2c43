"""Keeping credentials that live inside URLs out of logs, errors and command output.

A webhook URL often *is* the credential: ``https://hooks.slack.com/services/T0/B0/XXXX``
(the path), ``https://user:PASSWORD@host/hook`` (userinfo), ``…/hook?token=…`` (query).
:func:`redact_url` is the one way a URL is shown; :func:`scrub` removes a URL's secret parts
from any text (an exception message, an error answer) before it becomes a delivery error.

Third-party libraries (httpx, Apprise) log the URLs they use; :func:`install_log_scrubber`
scrubs every log record of the URLs channels registered with :func:`register_url`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "…"
MIN_FRAGMENT = 4  # shorter pieces ("/", "a") are not worth hiding and would mangle text
MIN_PART = 8  # a lone path segment or query value: long enough to be a token, not a word
# Schemes whose "host" really is a host; for others (Apprise's slack://TOKEN/…) it may be a key.
_HOST_SCHEMES = frozenset({"http", "https", "json", "jsons", "form", "forms", "xml", "xmls"})


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: no userinfo, path or query. Safe to log and show."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(invalid URL)"
    scheme = parts.scheme.lower()
    if not scheme or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        return "(invalid URL)"
    if scheme not in _HOST_SCHEMES:
        return f"{scheme}://{REDACTED}"
    try:
        port = parts.port
    except ValueError:
        return f"{scheme}://{REDACTED}"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    shown = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        shown += "/" + REDACTED
    return shown


def secret_fragments(url: str) -> frozenset[str]:
    """The pieces of ``url`` that may be a credential, as they could appear in some text."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return frozenset({url})
    pieces: set[str] = {url, url.strip()}
    if parts.password:
        pieces.update({parts.password, unquote(parts.password)})
    if parts.netloc and "@" in parts.netloc:
        pieces.add(parts.netloc.rpartition("@")[0])
    if parts.path not in ("", "/"):
        pieces.update({parts.path, unquote(parts.path)})
        pieces.update(s for s in parts.path.split("/") if len(s) >= MIN_PART)
    if parts.query:
        pieces.update({parts.query, unquote(parts.query)})
        for _key, value in parse_qsl(parts.query, keep_blank_values=True):
            if len(value) >= MIN_PART:
                pieces.add(value)
    if parts.fragment:
        pieces.add(parts.fragment)
    if parts.scheme.lower() not in _HOST_SCHEMES and parts.netloc:
        pieces.add(parts.netloc)
    return frozenset(p for p in pieces if len(p) >= MIN_FRAGMENT)


def scrub(text: str, urls: Iterable[str], secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL shown redacted and every secret piece of them replaced."""
    url_list = sorted({u for u in urls if u}, key=len, reverse=True)
    for url in url_list:
        text = text.replace(url, redact_url(url))
    pieces: set[str] = {s for s in secrets if len(s) >= MIN_FRAGMENT}
    for url in url_list:
        pieces |= secret_fragments(url)
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, REDACTED)
    return text


class _Registry:
    """The URLs and secrets of the configured channels, for scrubbing log records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.urls: frozenset[str] = frozenset()
        self.secrets: frozenset[str] = frozenset()

    def add(self, urls: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        with self._lock:
            self.urls = self.urls | {u for u in urls if u}
            self.secrets = self.secrets | {s for s in secrets if len(s) >= MIN_FRAGMENT}


_REGISTRY = _Registry()
_installed = False
_install_lock = threading.Lock()


def register_url(url: str) -> None:
    """Never log ``url`` or its secret parts (from now on, in every logger)."""
    _REGISTRY.add(urls=[url])
    install_log_scrubber()


def register_secret(value: str) -> None:
    """Never log ``value`` (a password, a signing secret)."""
    _REGISTRY.add(secrets=[value])
    install_log_scrubber()


def scrub_registered(text: str) -> str:
    return scrub(text, _REGISTRY.urls, _REGISTRY.secrets)


def _scrub_record(record: logging.LogRecord) -> None:
    if not (_REGISTRY.urls or _REGISTRY.secrets):
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it at emit time
        return
    clean = scrub_registered(message)
    if clean != message:
        record.msg, record.args = clean, None


def install_log_scrubber() -> None:
    """Wrap the log record factory once: every record, whatever its logger or handler,
    is scrubbed of the registered URLs and secrets before any handler formats it."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
