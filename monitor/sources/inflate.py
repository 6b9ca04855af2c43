"""Bounded decoding of compressed response bodies.

Decompression is done here rather than by the HTTP client so that output is
produced in bounded steps: a few kilobytes of gzip that inflate to gigabytes (a
"gzip bomb") are cut as soon as the decoded size passes the limit, without ever
holding more than the limit in memory.
"""

from __future__ import annotations

import zlib

SUPPORTED_ENCODINGS = ("gzip", "deflate")
_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The (decoded) body passed the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"response larger than {limit} bytes")
        self.limit = limit


class DecodeError(Exception):
    """The body is not valid for its Content-Encoding."""


class BoundedBody:
    """Accumulates a response body, decoding ``Content-Encoding`` and enforcing a size limit.

    Feed the raw chunks to :meth:`feed`, then call :meth:`finish`. Raises
    :class:`BodyTooLarge` as soon as either the raw or the decoded size passes
    ``limit``, and :class:`DecodeError` on corrupt compressed data.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = limit
        self._codings = _parse_codings(content_encoding)
        self._raw_size = 0
        self._out = bytearray()
        self._inflater: zlib._Decompress | None = None
        self._deflate_raw = False  # "deflate" sent as raw DEFLATE instead of zlib (common)
        self._started = False
        self._members = 0  # complete gzip members decoded so far
        if self._codings:
            self._inflater = self._new_inflater()

    def feed(self, chunk: bytes) -> None:
        self._raw_size += len(chunk)
        if self._raw_size > self.limit:
            raise BodyTooLarge(self.limit)
        if self._inflater is None:
            self._append(chunk)
            return
        self._inflate(chunk)

    def finish(self) -> bytes:
        if self._inflater is not None:
            try:
                self._append(self._inflater.flush())
            except zlib.error as exc:
                raise DecodeError(f"corrupt {self._codings[0]} body: {exc}") from exc
            if self._started and not self._inflater.eof:
                raise DecodeError(f"truncated {self._codings[0]} body")
        return bytes(self._out)

    def _new_inflater(self) -> zlib._Decompress:
        if self._codings[0] == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._deflate_raw else zlib.MAX_WBITS)

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        while data:
            try:
                out = self._inflater.decompress(data, self.limit - len(self._out) + 1)
            except zlib.error as exc:
                if self._codings[0] == "deflate" and not self._started and not self._deflate_raw:
                    self._deflate_raw = True
                    self._inflater = self._new_inflater()
                    continue
                if self._members and not self._started:
                    return  # padding after the last gzip member: ignored, as browsers do
                raise DecodeError(f"corrupt {self._codings[0]} body: {exc}") from exc
            self._started = True
            self._append(out)
            if self._inflater.eof:
                # Concatenated gzip members are one body (RFC 1952 §2.2).
                self._members += 1
                data = self._inflater.unused_data
                if data:
                    self._inflater = self._new_inflater()
                    self._started = False
            else:
                data = self._inflater.unconsumed_tail

    def _append(self, data: bytes) -> None:
        if len(self._out) + len(data) > self.limit:
            raise BodyTooLarge(self.limit)
        self._out += data


def _parse_codings(header: str | None) -> list[str]:
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    codings = ["gzip" if c == "x-gzip" else c for c in codings]
    if len(codings) > 1:
        raise DecodeError(f"unsupported content-encoding: {header}")
    for coding in codings:
        if coding not in SUPPORTED_ENCODINGS:
            raise DecodeError(f"unsupported content-encoding: {coding}")
    return codings
