"""A real HTTP server on loopback for tests and benchmarks: programmable routes, recorded requests.

    with LoopbackServer() as server:
        server.add("/feed", Static(body, content_type="application/rss+xml", etag='"v1"'))
        url = server.url("/feed")
        ...
        assert server.requests[-1].headers["if-none-match"] == '"v1"'

Routes: :class:`Static` (ETag/Last-Modified, 304 handling, optional gzip),
:class:`Status` (any code, extra headers such as Retry-After), :class:`Redirect`,
:class:`Hang` (never answers until the server stops), :class:`Stream` (a large
body streamed in chunks), :class:`Delayed` (another route, after a pause) and
:class:`Handler` (any callable). Use the
``http_server`` fixture in tests; the server stops (and hanging handlers return)
at teardown.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import pytest


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names


@dataclass(frozen=True)
class Response:
    """What a route answers: status, headers, and the body (bytes, or chunks to stream)."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Iterator[bytes] = b""


class Route:
    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        raise NotImplementedError


@dataclass
class Static(Route):
    """A feed document with validators; answers 304 to a matching conditional GET."""

    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        validators = {}
        if self.etag:
            validators["ETag"] = self.etag
        if self.last_modified:
            validators["Last-Modified"] = self.last_modified
        if self._unchanged(request.headers):
            return Response(304, {**validators, **self.headers})
        headers = {"Content-Type": self.content_type, **validators, **self.headers}
        body = self.body
        if self.gzip and "gzip" in request.headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return Response(200, headers, body)

    def _unchanged(self, headers: Mapping[str, str]) -> bool:
        if "if-none-match" in headers:  # RFC 9110: If-None-Match wins over If-Modified-Since
            return self.etag is not None and headers["if-none-match"] == self.etag
        since = headers.get("if-modified-since")
        return since is not None and since == self.last_modified


@dataclass
class Status(Route):
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        return Response(self.status, {"Content-Type": "text/plain", **self.headers}, self.body)


@dataclass
class Redirect(Route):
    location: str
    status: int = 302

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        return Response(self.status, {"Location": self.location})


@dataclass
class Hang(Route):
    """Never answers (or, with ``after_headers``, sends headers and then no body) until the
    server shuts down: for client timeouts, without leaving a thread running after the test."""

    after_headers: bool = False

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        if not self.after_headers:
            stopping.wait()
            return Response(503)
        return Response(200, {"Content-Type": "application/rss+xml"}, self._stall(stopping))

    @staticmethod
    def _stall(stopping: threading.Event) -> Iterator[bytes]:
        yield b"<rss>"
        stopping.wait()


@dataclass
class Stream(Route):
    """``size`` bytes of body, streamed in chunks, optionally with a Content-Length."""

    size: int
    chunk: bytes = b"<!-- padding -->\n"
    content_type: str = "application/rss+xml"
    declare_length: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        headers = {"Content-Type": self.content_type, **self.headers}
        if self.declare_length:
            headers["Content-Length"] = str(self.size)
        return Response(200, headers, self._chunks(stopping))

    def _chunks(self, stopping: threading.Event) -> Iterator[bytes]:
        block = self.chunk * max(1, 65536 // len(self.chunk))
        sent = 0
        while sent < self.size and not stopping.is_set():
            piece = block[: self.size - sent]
            sent += len(piece)
            yield piece


@dataclass
class Delayed(Route):
    """Another route, answered after ``seconds``: a real publisher's time to first byte."""

    route: Route
    seconds: float

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        if stopping.wait(self.seconds):
            return Response(503)
        return self.route.respond(request, stopping)


@dataclass
class Handler(Route):
    """Any callable, for one-off behaviour in a test."""

    function: Callable[[RecordedRequest], Response]

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        return self.function(request)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool = True) -> None:
        path = self.path
        request = RecordedRequest(
            method=self.command,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        owner = self.server.owner
        owner.record(request)
        route = owner.route(path.split("?", 1)[0]) or owner.route(path)
        response = (
            route.respond(request, owner.stopping) if route else Response(404, {}, b"not found")
        )
        if owner.stopping.is_set():
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if isinstance(response.body, bytes):
            if "Content-Length" not in response.headers and response.status != 304:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if send_body and response.status != 304:
                self.wfile.write(response.body)
            return
        self._stream(response, send_body)

    def _stream(self, response: Response, send_body: bool) -> None:
        assert not isinstance(response.body, bytes)
        chunked = "Content-Length" not in response.headers
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for piece in response.body:
                if not send_body or not piece:
                    continue
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
                self.wfile.flush()
            if chunked and send_body:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (size limit): expected

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests assert on recorded requests, not on stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer


class LoopbackServer:
    """A threaded HTTP/1.1 server on a free port of ``host`` (loopback only)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._httpd = _Server((host, 0), _RequestHandler)
        self._httpd.owner = self
        self.host: str = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, route: Route) -> str:
        """Serve ``route`` at ``path``; returns the full URL."""
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def route(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases Hang routes first, so shutdown is prompt
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A started :class:`LoopbackServer`, stopped after the test."""
    with LoopbackServer() as server:
        yield server
