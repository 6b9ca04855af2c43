"""Fetcher against a real HTTP server on loopback: every outcome is a FetchResult, never a raise."""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import threading
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.config import FetchConfig
from monitor.sources.fetch import Fetcher
from monitor.sources.parse import parse_feed
from tests.servers import (
    Handler,
    Hang,
    LoopbackServer,
    RecordedRequest,
    Redirect,
    Response,
    Static,
    Status,
    Stream,
)
from tests.sources.samples import declared_content_type, sample

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Gulf Desk</title><ttl>30</ttl>
<item><title>Houthi missile intercepted</title><link>https://news.example/a1</link>
<guid>https://news.example/a1</guid>
<description>&lt;p&gt;A U.S. Navy warship&lt;/p&gt;</description>
</item></channel></rss>"""

CONFIG = FetchConfig(timeout=2.0, connect_timeout=2.0, max_bytes=64 * 1024, max_redirects=3)


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(CONFIG) as f:
        yield f


async def test_fetches_a_feed_with_its_validators(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    lm = "Mon, 01 Jan 2024 00:00:00 GMT"
    url = http_server.add("/feed", Static(RSS, etag='"v1"', last_modified=lm))
    result = await fetcher.fetch(url)
    assert result.error is None and result.ok
    assert result.status == 200
    assert result.body == RSS
    assert result.etag == '"v1"'
    assert result.last_modified == lm
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert not result.not_modified and result.permanent_redirect is None
    assert result.final_url == url
    sent = http_server.requests_to("/feed")[0].headers
    assert sent["user-agent"] == CONFIG.user_agent
    assert "gzip" in sent["accept-encoding"]
    assert "application/rss+xml" in sent["accept"]


async def test_conditional_get_gives_not_modified_and_no_body(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    lm = "Mon, 01 Jan 2024 00:00:00 GMT"
    url = http_server.add("/feed", Static(RSS, etag='"v1"', last_modified=lm))
    first = await fetcher.fetch(url)
    second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status == 304
    assert second.not_modified and second.error is None
    assert second.body is None
    assert second.etag == '"v1"' and second.last_modified == lm
    sent = http_server.requests_to("/feed")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == lm


async def test_not_modified_keeps_the_validators_the_server_did_not_repeat(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = http_server.add("/feed", Handler(lambda request: Response(304)))
    result = await fetcher.fetch(url, etag='"abc"', last_modified="Tue, 02 Jan 2024 00:00:00 GMT")
    assert result.not_modified
    assert result.etag == '"abc"'
    assert result.last_modified == "Tue, 02 Jan 2024 00:00:00 GMT"


async def test_changed_feed_is_fetched_again(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add("/feed", Static(RSS, etag='"v2"'))
    result = await fetcher.fetch(url, etag='"v1"')
    assert result.status == 200 and result.body == RSS and result.etag == '"v2"'


async def test_http_500_is_an_error_result(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add("/feed", Status(500, b"boom"))
    result = await fetcher.fetch(url)
    assert result.status == 500
    assert result.error == "HTTP 500 Internal Server Error"
    assert result.body is None and not result.ok


async def test_429_retry_after_in_seconds(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add("/feed", Status(429, headers={"Retry-After": "120"}))
    result = await fetcher.fetch(url)
    assert result.error == "HTTP 429 Too Many Requests"
    assert result.retry_after == 120.0


async def test_503_retry_after_as_http_date(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    when = datetime.now(UTC) + timedelta(hours=1)
    url = http_server.add(
        "/feed", Status(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    )
    result = await fetcher.fetch(url)
    assert result.status == 503
    assert result.retry_after is not None
    assert 3500 <= result.retry_after <= 3600


async def test_cache_control_max_age(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add("/feed", Static(RSS, headers={"Cache-Control": "public, max-age=1800"}))
    result = await fetcher.fetch(url)
    assert result.max_age == 1800.0


async def test_read_timeout(http_server: LoopbackServer) -> None:
    url = http_server.add("/slow", Hang())
    async with Fetcher(FetchConfig(timeout=0.3, connect_timeout=1.0)) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error == "timed out after 0.3 s reading"
    assert result.body is None and result.status is None


async def test_stalled_body_times_out(http_server: LoopbackServer) -> None:
    url = http_server.add("/stall", Hang(after_headers=True))
    async with Fetcher(FetchConfig(timeout=0.3, connect_timeout=1.0)) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error is not None and result.error.startswith("timed out after")
    assert result.body is None


async def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert result.error == "connection refused"
    assert result.status is None


async def test_body_larger_than_the_limit_while_streaming(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = http_server.add("/huge", Stream(size=10 * CONFIG.max_bytes))
    result = await fetcher.fetch(url)
    assert result.error == f"response larger than {CONFIG.max_bytes} bytes"
    assert result.body is None and result.status == 200


async def test_declared_length_over_the_limit_is_refused_before_reading(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = http_server.add("/huge", Stream(size=10 * CONFIG.max_bytes, declare_length=True))
    result = await fetcher.fetch(url)
    assert result.error == f"response larger than {CONFIG.max_bytes} bytes"


async def test_gzip_bomb_is_cut_on_decoded_size(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    bomb = gzip.compress(b"\0" * (100 * CONFIG.max_bytes))
    assert len(bomb) < CONFIG.max_bytes  # small on the wire
    url = http_server.add(
        "/bomb",
        Handler(
            lambda r: Response(
                200, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}, bomb
            )
        ),
    )
    result = await fetcher.fetch(url)
    assert result.error == f"response larger than {CONFIG.max_bytes} bytes"


async def test_gzip_body_is_decoded(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add("/feed", Static(RSS, gzip=True))
    result = await fetcher.fetch(url)
    assert result.headers["content-encoding"] == "gzip"
    assert result.body == RSS


async def test_deflate_body_is_decoded_in_both_forms(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(RSS) + raw.flush()
    for path, payload in (("/zlib", zlib.compress(RSS)), ("/raw", raw_deflate)):
        url = http_server.add(path, Static(payload, headers={"Content-Encoding": "deflate"}))
        result = await fetcher.fetch(url)
        assert result.body == RSS, path


async def test_corrupt_gzip_is_an_error(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add(
        "/bad", Handler(lambda r: Response(200, {"Content-Encoding": "gzip"}, b"not gzip at all"))
    )
    result = await fetcher.fetch(url)
    assert result.error is not None and result.error.startswith("corrupt gzip body")


async def test_unsupported_content_encoding_is_an_error(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = http_server.add("/br", Handler(lambda r: Response(200, {"Content-Encoding": "br"}, b"x")))
    result = await fetcher.fetch(url)
    assert result.error == "unsupported content-encoding: br"


async def test_permanent_redirect_reports_the_new_url(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    new = http_server.add("/new", Static(RSS))
    old = http_server.add("/old", Redirect("/middle", 301))
    http_server.add("/middle", Redirect(new, 308))
    result = await fetcher.fetch(old)
    assert result.error is None and result.body == RSS
    assert result.final_url == new
    assert result.permanent_redirect == new


async def test_temporary_hop_means_no_permanent_redirect(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    new = http_server.add("/new", Static(RSS))
    old = http_server.add("/old", Redirect("/middle", 301))
    http_server.add("/middle", Redirect(new, 302))
    result = await fetcher.fetch(old)
    assert result.body == RSS and result.final_url == new
    assert result.permanent_redirect is None


async def test_permanent_redirect_to_a_failing_url_is_not_reported(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.add("/gone", Status(404))
    old = http_server.add("/old", Redirect("/gone", 301))
    result = await fetcher.fetch(old)
    assert result.error == "HTTP 404 Not Found"
    assert result.permanent_redirect is None


async def test_redirect_loop(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    a = http_server.add("/a", Redirect("/b"))
    http_server.add("/b", Redirect("/a"))
    result = await fetcher.fetch(a)
    assert result.error == "redirect loop"
    assert len(http_server.requests) == 2


async def test_too_many_redirects(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    for n in range(10):
        http_server.add(f"/r{n}", Redirect(f"/r{n + 1}"))
    result = await fetcher.fetch(http_server.url("/r0"))
    assert result.error == f"too many redirects ({CONFIG.max_redirects})"
    assert len(http_server.requests) == CONFIG.max_redirects + 1


async def test_redirect_without_location(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    url = http_server.add("/r", Status(302))
    result = await fetcher.fetch(url)
    assert result.error == "HTTP 302 redirect without a Location header"


async def test_html_page_fetches_fine_and_the_parser_says_not_a_feed(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>"
    url = http_server.add("/", Static(page, content_type="text/html; charset=utf-8"))
    result = await fetcher.fetch(url)
    assert result.error is None and result.body == page
    parsed = parse_feed(
        page, feed_name="home", url=url, headers=result.headers, fetched_at=datetime.now(UTC)
    )
    assert parsed.error == "not a feed: text/html page"
    assert parsed.articles == []


async def test_unsupported_scheme(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("ftp://example.invalid/feed.xml")
    assert result.error == "unsupported URL scheme 'ftp'"


async def test_per_host_limit_is_respected(http_server: LoopbackServer) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def slow(request: RecordedRequest) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            if active == 2:
                release.set()
        release.wait(timeout=2)
        with lock:
            active -= 1
        return Response(200, {"Content-Type": "application/rss+xml"}, RSS)

    url = http_server.add("/feed", Handler(slow))
    async with Fetcher(FetchConfig(concurrency=10, per_host=2)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(f"{url}?n={n}") for n in range(8)))
    assert all(r.body == RSS for r in results)
    assert peak == 2


async def test_global_limit_is_respected_across_hosts() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def counting(request: RecordedRequest) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        threading.Event().wait(0.02)  # hold the slot briefly so overlaps can happen
        with lock:
            active -= 1
        return Response(200, {}, RSS)

    servers = [LoopbackServer(f"127.0.0.{n}").start() for n in (1, 2, 3)]
    try:
        for server in servers:
            server.add("/feed", Handler(counting))
        urls = [server.url(f"/feed?n={n}") for server in servers for n in range(4)]
        async with Fetcher(FetchConfig(concurrency=2, per_host=4)) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    finally:
        for server in servers:
            server.stop()
    assert all(r.ok for r in results)
    assert peak <= 2


async def test_local_file_and_its_unchanged_second_read(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "feed.rss"
    path.write_bytes(RSS)
    first = await fetcher.fetch(str(path))
    assert first.error is None and first.body == RSS and first.status is None
    assert first.last_modified is not None and first.etag is not None
    again = await fetcher.fetch(str(path), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body is None
    by_date_only = await fetcher.fetch(path.as_uri(), last_modified=first.last_modified)
    assert by_date_only.not_modified


async def test_local_file_changed_is_read_again(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "feed.rss"
    path.write_bytes(RSS)
    first = await fetcher.fetch(path.as_uri())
    path.write_bytes(RSS + b"\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = await fetcher.fetch(path.as_uri(), etag=first.etag, last_modified=first.last_modified)
    assert not second.not_modified
    assert second.body == RSS + b"\n"


async def test_missing_local_file(tmp_path: Path, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(str(tmp_path / "nope.rss"))
    assert result.error == f"file not found: {tmp_path / 'nope.rss'}"


async def test_local_file_over_the_limit(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "big.rss"
    path.write_bytes(b" " * (CONFIG.max_bytes + 1))
    result = await fetcher.fetch(str(path))
    assert result.error == f"file larger than {CONFIG.max_bytes} bytes: {path}"


async def test_hanging_server_stops_promptly() -> None:
    server = LoopbackServer().start()
    url = server.add("/slow", Hang())
    async with Fetcher(FetchConfig(timeout=30, connect_timeout=1)) as fetcher:
        pending = asyncio.create_task(fetcher.fetch(url))
        while not server.requests:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.stop)  # must not wait for the 30 s client timeout
        result = await pending
    assert result.error is not None


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://[::1/feed", "invalid URL: Invalid IPv6 URL"),
        ("http://127.0.0.1:99999/feed", "invalid URL: Port out of range 0-65535"),
        ("https://", "invalid URL: no host"),
        ("http://\u2603.invalid/", "invalid URL: Invalid IDNA hostname: '\u2603.invalid'"),
    ],
)
async def test_malformed_urls_are_reported_not_raised(
    fetcher: Fetcher, url: str, error: str
) -> None:
    result = await fetcher.fetch(url)
    assert result.error == error and result.body is None


async def test_redirect_to_a_malformed_or_non_web_url(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    bad_port = http_server.add("/a", Redirect("http://127.0.0.1:99999/x"))
    result = await fetcher.fetch(bad_port)
    assert result.error == "invalid URL: Port out of range 0-65535"
    to_file = http_server.add("/b", Redirect("file:///etc/passwd"))
    result = await fetcher.fetch(to_file)
    assert result.error == "redirect to unsupported URL 'file:///etc/passwd'"


@pytest.mark.parametrize(
    ("name", "content_type", "title"),
    [
        ("real/encoding_WINDOWS-1251.xml", "text/xml; charset=windows-1251", "iBash.Org.Ru"),
        (
            "real/kc0011.rss",
            "application/rss+xml",
            "投资资讯网交易在线--流通纪念币最新20篇论坛主题-全文",
        ),
        ("encoding/http_i18n.xml", None, "Iñtërnâtiônàlizætiøn"),
    ],
)
async def test_served_encodings_decode_end_to_end(
    http_server: LoopbackServer, fetcher: Fetcher, name: str, content_type: str | None, title: str
) -> None:
    body = sample(name)
    served_as = content_type or declared_content_type(body) or "application/xml"
    url = http_server.add("/feed", Static(body, content_type=served_as, gzip=True))
    result = await fetcher.fetch(url)
    assert result.body == body
    parsed = parse_feed(
        result.body, feed_name="f", url=url, headers=result.headers, fetched_at=datetime.now(UTC)
    )
    assert parsed.error is None
    assert parsed.title == title


class DropFirstConnections:
    """A raw TCP server that closes the first ``drops`` connections unanswered, then serves RSS."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                self.connections += 1
                conn.recv(65536)
                if self.connections <= self.drops:
                    continue  # closed without a word, like a dead kept-alive connection
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                    f"Content-Length: {len(RSS)}\r\nConnection: close\r\n\r\n"
                )
                conn.sendall(head.encode() + RSS)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize(("drops", "ok"), [(1, True), (2, False)])
async def test_a_connection_dropped_under_a_request_is_retried_once(
    fetcher: Fetcher, drops: int, ok: bool
) -> None:
    server = DropFirstConnections(drops)
    try:
        result = await fetcher.fetch(server.url)
    finally:
        server.close()
    assert server.connections == 2
    if ok:
        assert result.error is None and result.status == 200 and result.body == RSS
    else:
        assert result.error == "protocol error: Server disconnected without sending a response."
