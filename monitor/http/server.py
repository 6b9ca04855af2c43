"""uvicorn inside the daemon's event loop: bound before the daemon starts, stopped with it.

The socket is bound here, not by uvicorn, so a port in use or a refused address stops the
start with a message naming ``http.listen`` instead of a log line from a background task.
uvicorn's own signal handling is switched off: the daemon's SIGTERM/SIGINT handlers stay in
charge and stop the server with everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn

from monitor.app import App, StartupError
from monitor.http.config import HttpConfig, split_listen
from monitor.http.metrics import Metrics
from monitor.http.web import create_app

log = logging.getLogger("monitor.http")

GRACEFUL_SECONDS = 5


def is_loopback(host: str) -> bool:
    """Only a name or address every resolution of which is loopback (empty: all interfaces)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def bind(config: HttpConfig) -> socket.socket:
    """A listening socket for ``http.listen``, or :class:`StartupError` saying what to fix."""
    assert config.listen is not None
    listen = config.listen
    host, port = split_listen(listen)
    if config.token is None and not is_loopback(host):
        raise StartupError(
            f"http.listen = {listen!r} is not a loopback address: set http.token "
            "(env MONITOR_HTTP__TOKEN) so the status page and metrics are not open to anyone "
            "who can reach the port, or listen on 127.0.0.1"
        )
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise StartupError(f"http.listen = {listen!r}: cannot resolve {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT, not a listener
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = (
            " (another process is listening there: stop it or choose another port)"
            if exc.errno in (98, 48)  # EADDRINUSE on Linux, macOS
            else ""
        )
        raise StartupError(f"http.listen = {listen!r}: cannot listen: {reason}{hint}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    if host in ("0.0.0.0", "[::]"):
        host = socket.gethostname()
    return f"http://{host}:{port}/"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon owns SIGTERM/SIGINT (uvicorn would replace its handlers and re-raise).
        yield


class HttpService:
    """The bound socket and the server; :meth:`run` serves until ``stop`` is set."""

    def __init__(self, app: App, *, scheduler_running: Callable[[], bool]) -> None:
        config = app.settings.http
        self.socket = bind(config)
        self.url = url_of(self.socket)
        self.metrics = Metrics(app.bus, app.store, [f.name for f in app.feeds])
        token = config.token.get_secret_value() if config.token is not None else None
        asgi = create_app(app, self.metrics, scheduler_running=scheduler_running, token=token)
        uvicorn_log = logging.getLogger("uvicorn")
        if uvicorn_log.level == logging.NOTSET:  # its start/stop chatter; errors still show
            uvicorn_log.setLevel(logging.WARNING)
        self.server = _Server(
            uvicorn.Config(
                asgi,
                lifespan="off",
                log_config=None,
                access_log=False,
                server_header=False,
                proxy_headers=False,
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        serving = asyncio.create_task(self.server.serve(sockets=[self.socket]), name="http-serve")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            self.server.should_exit = True
            try:
                await serving
            except (Exception, SystemExit):
                log.exception("the HTTP server failed")
            finally:
                self.socket.close()

    def close(self) -> None:
        """Give the port back when the daemon stops before :meth:`run` (a failed start)."""
        self.socket.close()
