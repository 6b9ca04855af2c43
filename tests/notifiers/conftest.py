"""Shared fixtures for the notifier tests: a real store, real SMTP and HTTP servers on loopback."""

from __future__ import annotations

import contextlib
import io
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from monitor.bus import EventBus
from monitor.config import Settings
from monitor.events import AlertDelivered, AlertFailed, AlertQueued
from monitor.models import Alert, Article, Hit, Rule, alert_id
from monitor.notifiers import Notifier, enqueue_alert
from monitor.store import Store, open_store
from tests.stores import row_dicts

T0 = datetime(2023, 10, 23, 14, 0, tzinfo=UTC)

SEED_TITLE = (
    "Iranian-backed Militias Poised to Escalate Attacks on US Forces in the Middle East, "
    "Intelligence Reveals"
)
SEED_SUMMARY = (
    "Several U.S. officials have confirmed that these militia groups have already carried out "
    "multiple drone attacks on U.S. forces in Iraq and Syria. A U.S. Navy warship intercepted "
    "multiple missiles fired by Iranian-backed Houthi militants off the coast of Yemen."
)


def find_hits(field_name: str, text: str, terms: dict[str, str | None]) -> list[Hit]:
    """Hits the way the rule engine reports them, found with plain substring search."""
    hits = []
    lowered = text.lower()
    for term, set_name in terms.items():
        start = lowered.find(term.lower())
        while start >= 0:
            end = start + len(term)
            hits.append(Hit(field_name, start, end, text[start:end], term, set_name))
            start = lowered.find(term.lower(), end)
    return hits


def make_rule(rule_id: str = "iran-proxies", **kw: Any) -> Rule:
    defaults: dict[str, Any] = {
        "title": "Iranian proxies attack U.S. forces",
        "severity": "high",
        "query": "(Houthi OR Iranian-backed) AND (drone OR missile*)",
    }
    defaults.update(kw)
    return Rule(id=rule_id, **defaults)


def make_article(article_id: str = "a1", **kw: Any) -> Article:
    defaults: dict[str, Any] = {
        "feed": "seed-rss",
        "title": SEED_TITLE,
        "link": f"https://news.example.org/{article_id}",
        "published": T0 - timedelta(minutes=5),
        "summary": SEED_SUMMARY,
    }
    defaults.update(kw)
    return Article(id=article_id, **defaults)


TERMS: dict[str, str | None] = {
    "Iranian-backed": "actors",
    "Houthi": "actors",
    "drone": None,
    "missiles": None,
}


def make_alert(rule: Rule, article: Article, now: datetime = T0) -> Alert:
    hits = find_hits("title", article.title, TERMS) + find_hits("summary", article.summary, TERMS)
    return Alert(
        id=alert_id(rule.id, article.id),
        rule=rule,
        article=article,
        hits=tuple(hits),
        created_at=now,
    )


@dataclass
class Harness:
    """A store, settings and a notifier wired like the daemon wires them."""

    db: Store
    settings: Settings
    bus: EventBus
    stdout: io.StringIO
    events: list[object] = field(default_factory=list)
    _notifier: Notifier | None = None

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            self._notifier = Notifier(self.settings, self.db, self.bus, stream=self.stdout)
        return self._notifier

    def raise_alert(
        self,
        rule: Rule,
        article: Article,
        now: datetime = T0,
        also_in: tuple[str, ...] = (),
    ) -> AlertQueued | None:
        """What the pipeline does for a new match: one transaction, alert + deliveries."""
        alert = make_alert(rule, article, now)
        with self.db.write() as uow:
            uow.articles.upsert(article, link_key=None, now=now)
            for feed in also_in:  # the same story carried by other feeds
                uow.articles.upsert(replace(article, feed=feed), link_key=None, now=now)
            if not uow.alerts.insert(alert):
                return None
            queued = enqueue_alert(uow, alert, self.settings, now)
        self.bus.publish(queued)
        return queued

    def outbox(self) -> list[dict[str, Any]]:
        return row_dicts(self.db, "SELECT * FROM outbox ORDER BY created_at, id")

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**settings: Any) -> Harness:
        settings.setdefault("data_dir", tmp_path / "data")
        settings.setdefault(
            "channels", {"mail-folder": {"type": "folder", "path": str(tmp_path / "mail")}}
        )
        db = open_store(str(tmp_path / "m.db"))
        bus = EventBus()
        harness = Harness(db=db, settings=Settings(**settings), bus=bus, stdout=io.StringIO())
        for kind in (AlertQueued, AlertDelivered, AlertFailed):
            bus.subscribe(kind, harness.events.append)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.db.close()


# -- SMTP ----------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    authenticated: bool


class RecordingHandler:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content or b""),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 OK"


USERS = {"analyst": "s3cret-pw"}


def authenticator(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and USERS.get(auth_data.login.decode()) == (
        auth_data.password.decode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SMTPServer:
    """An aiosmtpd server in its own thread; ``start()`` can come late (server-down tests)."""

    def __init__(
        self, port: int | None = None, handler: RecordingHandler | None = None, **kwargs: Any
    ) -> None:
        self.handler = handler or RecordingHandler()
        self.port = port or free_port()
        self.kwargs = kwargs
        self.controller: Controller | None = None

    def start(self) -> SMTPServer:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.handler.messages


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SMTPServer]]:
    servers: list[SMTPServer] = []

    def make(*, start: bool = True, **kwargs: Any) -> SMTPServer:
        server = SMTPServer(**kwargs)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


# -- HTTP (webhooks) -----------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering: a slow receiver


class WebhookReceiver:
    """A real HTTP server recording POSTs and answering from a script (then 200s)."""

    def __init__(self) -> None:
        self.requests: list[WebhookRequest] = []
        self.script: list[Reply] = []
        self.default = Reply()  # the answer once the script is used up
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        WebhookRequest(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body
                        )
                    )
                    reply = receiver.script.pop(0) if receiver.script else receiver.default
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (a test killed it)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


# -- A receiver that never finishes: one byte at a time ----------------------------------


class TrickleServer:
    """A raw TCP server on loopback that reads a request, sends ``head`` and then one byte of
    ``drip`` every ``interval`` seconds, for ever (until closed): each read succeeds well
    within any per-read timeout, and the answer never completes."""

    def __init__(self, head: bytes, drip: bytes = b"x", interval: float = 0.3) -> None:
        import socket

        self.head, self.drip, self.interval = head, drip, interval
        self.stopping = threading.Event()
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: Any) -> None:
        with conn:
            try:
                conn.settimeout(0.5)
                if self.head.startswith(b"HTTP/"):
                    with contextlib.suppress(OSError):
                        conn.recv(65536)  # the request; its body may follow, unread
                conn.sendall(self.head)
                while not self.stopping.wait(self.interval):
                    conn.sendall(self.drip)
            except OSError:
                return  # the client gave up: what the test wants

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.thread.join(timeout=2)


@pytest.fixture
def trickle_server() -> Iterator[Callable[..., TrickleServer]]:
    made: list[TrickleServer] = []

    def make(head: bytes, drip: bytes = b"x", interval: float = 0.3) -> TrickleServer:
        server = TrickleServer(head, drip, interval)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()
