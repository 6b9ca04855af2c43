"""Pure helpers under the fetcher: bounded decompression and the polling-related headers."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.sources.http_headers import http_date, parse_max_age, parse_retry_after
from monitor.sources.inflate import BodyTooLarge, BoundedBody, DecodeError

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def decode(encoding: str | None, payload: bytes, limit: int = 1 << 20, chunk: int = 7) -> bytes:
    body = BoundedBody(encoding, limit)
    for start in range(0, len(payload), chunk):
        body.feed(payload[start : start + chunk])
    return body.finish()


@given(st.binary(max_size=3000), st.integers(1, 500))
def test_gzip_round_trip_in_any_chunking(data: bytes, chunk: int) -> None:
    assert decode("gzip", gzip.compress(data), chunk=chunk) == data


def test_identity_and_x_gzip_and_concatenated_members() -> None:
    assert decode(None, b"plain") == b"plain"
    assert decode("identity", b"plain") == b"plain"
    assert decode("x-gzip", gzip.compress(b"abc")) == b"abc"
    assert decode("gzip", gzip.compress(b"ab") + gzip.compress(b"cd")) == b"abcd"
    assert decode("gzip", gzip.compress(b"ab") + b"\0\0\0\0") == b"ab"  # trailing padding


def test_deflate_zlib_and_raw() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode("deflate", zlib.compress(b"zlib-wrapped")) == b"zlib-wrapped"
    assert decode("deflate", raw.compress(b"raw") + raw.flush()) == b"raw"


def test_limits_on_raw_and_decoded_size() -> None:
    with pytest.raises(BodyTooLarge, match="response larger than 100 bytes"):
        decode(None, b"x" * 101, limit=100)
    assert decode(None, b"x" * 100, limit=100) == b"x" * 100
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BodyTooLarge):
        decode("gzip", bomb, limit=1000, chunk=len(bomb))


def test_corrupt_truncated_and_unsupported() -> None:
    with pytest.raises(DecodeError, match="corrupt gzip body"):
        decode("gzip", b"definitely not gzip")
    with pytest.raises(DecodeError, match="truncated gzip body"):
        decode("gzip", gzip.compress(b"x" * 1000)[:20])
    with pytest.raises(DecodeError, match="unsupported content-encoding: br"):
        BoundedBody("br", 100)
    with pytest.raises(DecodeError, match="unsupported content-encoding"):
        BoundedBody("gzip, gzip", 100)


def test_retry_after() -> None:
    assert parse_retry_after("120", now=NOW) == 120.0
    later = NOW + timedelta(minutes=10)
    assert parse_retry_after(http_date(later), now=NOW) == 600.0
    assert parse_retry_after(http_date(NOW - timedelta(hours=1)), now=NOW) == 0.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after("-5", now=NOW) is None


def test_max_age() -> None:
    assert parse_max_age("public, max-age=600") == 600.0
    assert parse_max_age('max-age="60"') == 60.0
    assert parse_max_age("s-maxage=30, public") == 30.0
    assert parse_max_age("no-cache, max-age=600") is None
    assert parse_max_age("private") is None
    assert parse_max_age(None) is None


def test_http_date() -> None:
    assert (
        http_date(datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)) == "Sun, 06 Nov 1994 08:49:37 GMT"
    )
