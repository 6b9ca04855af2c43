"""Stable article identity, so a story is stored, matched and alerted once.

An entry's own guid/id is the best key. Without one, the link is used, but
links differ in noise (tracking parameters, fragments, host case, default
ports, parameter order) between polls and between feeds carrying the same
story, so the link is canonicalised first. Without either, a hash of the feed
and the title keeps the entry stable for as long as its title does.
"""

from __future__ import annotations

import hashlib
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from monitor.sources.html_text import normalise_space

# Parameters that identify a campaign or a click, never the page.
_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "mc_cid", "mc_eid", "igshid", "igsh", "_hsenc", "_hsmi",
        "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wickedid",
        "__twitter_impression", "_ga", "_gl", "ocid", "cmpid", "s_cid", "rb_clickid", "wt_mc",
        "wt_zmc", "at_medium", "at_campaign",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_ID_LENGTH = 512


def is_tracking_parameter(name: str) -> bool:
    """True for click/campaign parameters that never change which page a URL names."""
    key = name.lower()
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The same page's URL with the noise removed; idempotent.

    Lower-cases scheme and host, drops a default port and the fragment, removes
    tracking parameters and sorts the rest (keeping each parameter's original
    encoding). Strings that are not absolute URLs come back stripped but otherwise
    unchanged.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.scheme or not parts.netloc:
        return text
    scheme = parts.scheme.lower()
    netloc = _canonical_netloc(parts, scheme)
    path = parts.path or ("/" if scheme in _DEFAULT_PORTS else "")
    return urlunsplit((scheme, netloc, path, _canonical_query(parts.query), ""))


def _canonical_netloc(parts: SplitResult, scheme: str) -> str:
    userinfo, at, hostport = parts.netloc.rpartition("@")
    try:
        port = parts.port
    except ValueError:  # a non-numeric port: leave the host part as written, lower-cased
        return f"{userinfo}{at}{hostport.lower()}"
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}{at}{host}"


def _canonical_query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name = unquote_plus(piece.partition("=")[0])
        if not is_tracking_parameter(name):
            kept.append((name, piece))
    kept.sort()
    return "&".join(piece for _, piece in kept)


def article_id(*, guid: str | None, link: str | None, title: str | None, feed_url: str) -> str:
    """The key an entry is stored under: its guid, else its canonical link, else a hash.

    Guids that are URLs are canonicalised like links, so the same story reached
    through a guid in one feed and a link in another gets the same key.
    """
    guid = (guid or "").strip()
    if guid:
        key = canonical_url(guid) if _is_web_url(guid) else guid
        return _bounded(key)
    link = (link or "").strip()
    if link:
        return _bounded(canonical_url(link))
    digest = hashlib.sha256(
        f"{canonical_url(feed_url)}\x00{normalise_space(title or '')}".encode()
    ).hexdigest()
    return f"sha256:{digest[:40]}"


def _is_web_url(value: str) -> bool:
    scheme, sep, _ = value.partition("://")
    return bool(sep) and scheme.lower() in _DEFAULT_PORTS


def _bounded(key: str) -> str:
    # A pathological multi-kilobyte guid would bloat every index that holds it.
    if len(key) <= _MAX_ID_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:40]
