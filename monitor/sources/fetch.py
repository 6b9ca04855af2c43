"""Fetching feeds over HTTP(S) or from local files: the only I/O in ``monitor.sources``.

:meth:`Fetcher.fetch` never raises for a feed's problems. Every outcome — fresh
body, ``304 Not Modified``, HTTP error, timeout, oversized body, redirect loop —
comes back as a :class:`FetchResult` with a human-readable ``error``, so one bad
feed can never stop a polling cycle.

Politeness and safety: conditional GETs, a product User-Agent, a global and a
per-host concurrency limit, redirects followed by hand (to count them, catch
loops and notice permanent moves), and a size limit enforced while streaming,
on the decoded size too.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from monitor.sources.config import FetchConfig
from monitor.sources.http_headers import http_date, parse_max_age, parse_retry_after
from monitor.sources.inflate import BodyTooLarge, BoundedBody, DecodeError

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced; ``error`` is None on success (including 304)."""

    url: str
    final_url: str
    status: int | None
    body: bytes | None
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    permanent_redirect: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """A usable answer: a body to parse or a confirmation that nothing changed."""
        return self.error is None


class _FetchFailed(Exception):
    """Internal: a failure with its human reason, turned into ``FetchResult.error``."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


# The connection died under a request: worth one retry on a fresh connection.
_CONNECTION_LOST = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


class Fetcher:
    """One per daemon: owns the HTTP client, its connection pool and the concurrency limits.

    Use as ``async with Fetcher(config) as fetcher: await fetcher.fetch(url)``.
    """

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(config.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        cfg = self.config
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(cfg.timeout, connect=cfg.connect_timeout, pool=None),
            limits=httpx.Limits(
                max_connections=cfg.concurrency,
                max_keepalive_connections=cfg.concurrency,
            ),
            follow_redirects=False,
            headers={"User-Agent": cfg.user_agent, "Accept": ACCEPT},
            trust_env=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch one feed, conditionally if validators from the last fetch are given."""
        scheme = _scheme(url)
        if scheme in ("", "file"):
            return await self._fetch_file(url, etag=etag, last_modified=last_modified)
        if scheme not in ("http", "https"):
            return FetchResult(
                url=url, final_url=url, status=None, body=None,
                error=f"unsupported URL scheme {scheme!r}",
            )  # fmt: skip
        try:
            host = _checked_host(url)
        except _FetchFailed as exc:
            return FetchResult(url=url, final_url=url, status=None, body=None, error=str(exc))
        semaphore = self._per_host.setdefault(host, asyncio.Semaphore(self.config.per_host))
        # Host first: a task queued behind a busy host must not hold a global slot.
        async with semaphore, self._global:
            started = time.perf_counter()
            return await self._fetch_http(url, etag, last_modified, started)

    # -- HTTP ------------------------------------------------------------------------------

    async def _fetch_http(
        self, url: str, etag: str | None, last_modified: str | None, started: float
    ) -> FetchResult:
        if self._client is None:
            raise RuntimeError("Fetcher used outside 'async with'")
        request_headers: dict[str, str] = {"Accept-Encoding": ", ".join(("gzip", "deflate"))}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        cfg = self.config
        # Per-read timeouts do not stop a server that trickles a byte at a time.
        deadline = cfg.connect_timeout + 2 * cfg.timeout
        current, visited, all_permanent = url, {url}, True
        status: int | None = None
        try:
            async with asyncio.timeout(deadline):
                for _hop in range(cfg.max_redirects + 1):
                    status, headers, body = await self._get(current, request_headers)
                    location = headers.get("location")
                    if status not in _REDIRECTS:
                        break
                    if not location:
                        raise _FetchFailed(f"HTTP {status} redirect without a Location header")
                    all_permanent = all_permanent and status in _PERMANENT
                    target = urljoin(current, location.strip())
                    if _scheme(target) not in ("http", "https"):
                        raise _FetchFailed(f"redirect to unsupported URL {target!r}")
                    _checked_host(target)
                    if target in visited:
                        raise _FetchFailed("redirect loop")
                    visited.add(target)
                    current = target
                else:
                    raise _FetchFailed(f"too many redirects ({cfg.max_redirects})")
        except _FetchFailed as exc:
            return self._failure(url, current, exc.status or status, str(exc), started)
        except TimeoutError:
            return self._failure(url, current, None, f"timed out after {deadline:.1f} s", started)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return self._failure(url, current, None, self._describe(exc), started)
        except Exception as exc:  # hostile input can surprise any library: report, never raise
            log.exception("unexpected error fetching %s", url)
            reason = f"unexpected error: {type(exc).__name__}: {exc}"
            return self._failure(url, current, None, reason, started)
        return self._result(
            url, current, status, headers, body, etag, last_modified, all_permanent, started
        )

    async def _get(
        self, url: str, request_headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes | None]:
        """One GET; the body is read only for a 200-range answer.

        A GET is safe to repeat, so a connection that dies under it (typically a kept-alive one
        the server had already closed) is retried once on a fresh connection.
        """
        assert self._client is not None
        for attempt in (1, 2):
            try:
                async with self._client.stream("GET", url, headers=request_headers) as response:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    status = response.status_code
                    if not 200 <= status < 300 or status == 204:
                        return status, headers, None
                    return status, headers, await self._read_body(response, headers)
            except _CONNECTION_LOST:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read_body(self, response: httpx.Response, headers: Mapping[str, str]) -> bytes:
        limit = self.config.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _FetchFailed(f"response larger than {limit} bytes", response.status_code)
        try:
            body = BoundedBody(headers.get("content-encoding"), limit)
            async for chunk in response.aiter_raw():
                body.feed(chunk)
            return body.finish()
        except (BodyTooLarge, DecodeError) as exc:
            raise _FetchFailed(str(exc), response.status_code) from exc

    def _result(
        self,
        url: str,
        final_url: str,
        status: int,
        headers: dict[str, str],
        body: bytes | None,
        sent_etag: str | None,
        sent_last_modified: str | None,
        all_permanent: bool,
        started: float,
    ) -> FetchResult:
        answered = FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            body=None,
            headers=MappingProxyType(headers),
            max_age=parse_max_age(headers.get("cache-control")),
            duration=time.perf_counter() - started,
        )
        # A moved feed is only worth re-pointing once the new address actually works.
        moved = final_url if final_url != url and all_permanent else None
        if status == 304:
            # Servers may omit validators on 304; the ones we sent are still current.
            return replace(
                answered,
                not_modified=True,
                etag=headers.get("etag") or sent_etag,
                last_modified=headers.get("last-modified") or sent_last_modified,
                permanent_redirect=moved,
            )
        if 200 <= status < 300 and body is not None:
            return replace(
                answered,
                body=body,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
                permanent_redirect=moved,
            )
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(headers.get("retry-after"), now=datetime.now(UTC))
        return replace(answered, retry_after=retry_after, error=_status_error(status))

    def _failure(
        self, url: str, final_url: str, status: int | None, reason: str, started: float
    ) -> FetchResult:
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            body=None,
            error=reason,
            duration=time.perf_counter() - started,
        )

    def _describe(self, exc: httpx.HTTPError | httpx.InvalidURL) -> str:
        cfg = self.config
        if isinstance(exc, httpx.ConnectTimeout):
            return f"timed out after {cfg.connect_timeout:.1f} s connecting"
        if isinstance(exc, httpx.ReadTimeout):
            return f"timed out after {cfg.timeout:.1f} s reading"
        if isinstance(exc, httpx.TimeoutException):
            return f"timed out after {cfg.timeout:.1f} s"
        if isinstance(exc, httpx.ConnectError):
            return _describe_connect_error(exc)
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"protocol error: {exc or 'server closed the connection'}"
        if isinstance(exc, httpx.ReadError | httpx.WriteError):
            return (
                f"connection lost: {exc}" if str(exc) else "connection lost (reset by the server)"
            )
        if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
            return f"invalid URL: {exc}"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    # -- local files -----------------------------------------------------------------------

    async def _fetch_file(
        self, url: str, *, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        started = time.perf_counter()
        try:
            path = _local_path(url)
            body, stamp, mtime = await asyncio.to_thread(_read_file, path, self.config.max_bytes)
        except _FetchFailed as exc:
            return self._failure(url, url, None, str(exc), started)
        file_etag = f'"{stamp}"'
        modified = http_date(mtime)
        headers = MappingProxyType({"last-modified": modified, "etag": file_etag})
        unchanged = etag == file_etag if etag else last_modified == modified
        return FetchResult(
            url=url,
            final_url=url,
            status=None,
            body=None if unchanged else body,
            headers=headers,
            etag=file_etag,
            last_modified=modified,
            not_modified=unchanged,
            duration=time.perf_counter() - started,
        )


def _read_file(path: Path, limit: int) -> tuple[bytes, str, datetime]:
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            if stat.st_size > limit:
                raise _FetchFailed(f"file larger than {limit} bytes: {path}")
            body = handle.read(limit + 1)
    except FileNotFoundError as exc:
        raise _FetchFailed(f"file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise _FetchFailed(f"is a directory, not a feed file: {path}") from exc
    except PermissionError as exc:
        raise _FetchFailed(f"permission denied: {path}") from exc
    except OSError as exc:
        raise _FetchFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(body) > limit:
        raise _FetchFailed(f"file larger than {limit} bytes: {path}")
    stamp = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    return body, stamp, datetime.fromtimestamp(stat.st_mtime, UTC)


def _checked_host(url: str) -> str:
    """The URL's host, lower-cased; a malformed URL fails here with a clear reason."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError as exc:
        raise _FetchFailed(f"invalid URL: {exc}") from exc
    if not parts.hostname:
        raise _FetchFailed("invalid URL: no host")
    return parts.hostname.lower()


def _local_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return Path(url).expanduser()
    if parts.netloc not in ("", "localhost"):
        raise _FetchFailed(f"file URL on another host is not supported: {url}")
    return Path(url2pathname(parts.path))


def _scheme(url: str) -> str:
    head, sep, _ = url.partition("://")
    if sep and head.isascii() and head.replace("+", "").replace("-", "").isalnum():
        return head.lower()
    if url.lower().startswith("file:"):
        return "file"
    return ""


def _status_error(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP {status} {phrase}".rstrip()


def _describe_connect_error(exc: httpx.ConnectError) -> str:
    text = str(exc)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "DNS lookup failed"
    if "certificate" in lowered or "ssl" in lowered:
        return f"TLS error: {text}"
    return f"connection failed: {text}" if text else "connection failed"
