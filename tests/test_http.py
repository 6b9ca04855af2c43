"""The HTTP side against real servers: the daemon in-process serving on a loopback port,
`monitor run` as a process for the refusals and SIGTERM, and headless Chromium for the page."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.app import App, StartupError
from monitor.clock import utcnow
from monitor.config import Settings, load_settings
from monitor.daemon import Daemon
from monitor.http.config import HttpConfig, split_listen
from monitor.http.server import HttpService
from monitor.http.web import token_matches
from monitor.models import Article
from tests.conftest import SEED_RSS, SEED_TITLE, STARTER_RULES, MakeSettings
from tests.servers import LoopbackServer, Static

ATTACK = "Iranian proxies launched a drone attack on U.S. forces"
EVIL_TITLE = f"<script>alert(1)</script> {ATTACK}"
EVIL_ITEM = f"""<item>
<title>&lt;script&gt;alert(1)&lt;/script&gt; {ATTACK}</title>
<link>javascript:alert(2)</link>
<guid isPermaLink="false">urn:test:evil</guid>
<pubDate>Mon, 23 Oct 2023 15:00:00 +0000</pubDate>
<description>{ATTACK} in Syria, officials said.</description>
</item>
"""
TIMEOUT = 30.0
METRIC_NAMES = (
    "monitor_polls_total",
    "monitor_articles_new_total",
    "monitor_alerts_total",
    "monitor_deliveries_total",
    "monitor_outbox_pending",
    "monitor_feeds_failing",
    "monitor_poll_duration_seconds_bucket",
    "monitor_alert_delivery_seconds_bucket",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    app: App
    daemon: Daemon
    base: str

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path


async def wait_until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    """``monitor run`` in this test's loop: the daemon with its HTTP server."""
    assert settings.http.listen
    port = split_listen(settings.http.listen)[1]
    async with App.open(settings) as app:
        daemon = Daemon(app)
        task = asyncio.create_task(daemon.run())
        base = f"http://127.0.0.1:{port}/"
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                deadline = time.monotonic() + TIMEOUT
                while True:
                    if task.done():
                        task.result()  # raises why it stopped
                        pytest.fail("the daemon stopped at once")
                    try:
                        if (await client.get(base + "healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        pytest.fail("the HTTP server did not come up")
                    await asyncio.sleep(0.05)
            yield Running(app, daemon, base)
        finally:
            daemon.stop.set()
            assert await asyncio.wait_for(task, TIMEOUT) == 0


def alerts_in_store(app: App) -> int:
    with app.store.read() as uow:
        return uow.alerts.count()


def outbox_settled(app: App) -> bool:
    with app.store.read() as uow:
        counts = uow.outbox.counts()
    return counts["sent"] > 0 and counts["pending"] == 0 and counts["sending"] == 0


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        sname, _, rest = sample.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if sname == name and got == want:
            return float(value)
    return 0.0


def visible_text(page: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page))


def seed_feeds(http_server: LoopbackServer) -> list[dict[str, object]]:
    feed = SEED_RSS.read_text(encoding="utf-8").replace("<item>", EVIL_ITEM + "<item>", 1)
    url = http_server.add("/seed.rss", Static(feed.encode(), etag='"v1"'))
    return [
        {"name": "seed", "url": url, "backfill_hours": -1},
        {"name": "refused", "url": "http://127.0.0.1:9/feed.xml"},
    ]


async def test_health_readiness_metrics_and_the_status_page(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    port = free_port()
    settings = make_settings(
        feeds=seed_feeds(http_server),
        fetch={"timeout": 2.0, "connect_timeout": 1.0},
        http={"listen": f"127.0.0.1:{port}"},
    )
    async with running(settings) as r, httpx.AsyncClient(timeout=10.0) as client:
        await wait_until(lambda: alerts_in_store(r.app) >= 6, "the seed alerts")
        await wait_until(lambda: outbox_settled(r.app), "the deliveries")

        health = await client.get(r.url("/healthz"))
        assert (health.status_code, health.text.strip()) == (200, "ok")

        ready = await client.get(r.url("/readyz"))
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["ready"] is True
        assert body["checks"] == {"store": "ok", "rules": "ok", "scheduler": "ok"}
        assert body["rules"]["count"] == len(r.app.ruleset.rules)

        scrape = await client.get(r.url("/metrics"))
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        m = scrape.text
        for name in METRIC_NAMES:
            assert f"\n{name}" in m, name
        polls = len(http_server.requests_to("/seed.rss"))
        assert polls == 1
        assert metric(m, "monitor_polls_total", result="ok") == polls
        assert metric(m, "monitor_polls_total", result="failed") == 1  # the refused feed
        assert metric(m, "monitor_polls_total", result="not_modified") == 0
        assert metric(m, "monitor_poll_duration_seconds_count") == 2
        assert metric(m, "monitor_articles_new_total") == 10  # 9 seed items and the evil one
        alerts = alerts_in_store(r.app)
        by_rule = sum(metric(m, "monitor_alerts_total", rule=x.id) for x in r.app.ruleset.rules)
        assert by_rule == alerts
        assert metric(m, "monitor_alerts_total", rule="proxy-attacks-on-us-forces") >= 1
        sent = metric(m, "monitor_deliveries_total", channel="mail-folder", result="sent")
        with r.app.store.read() as uow:
            outbox = uow.outbox.counts()
        assert sent == outbox["sent"] > 0  # one channel; a rule's cooldown holds some back
        assert metric(m, "monitor_alert_delivery_seconds_count") == sent
        assert 0 < metric(m, "monitor_alert_delivery_seconds_sum") < TIMEOUT * sent
        assert metric(m, "monitor_outbox_pending") == 0
        assert metric(m, "monitor_feeds_failing") == 1

        page = await client.get(r.url("/"))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src" not in page.headers["content-security-policy"]  # no script allowed
        html = page.text
        text = visible_text(html)
        assert SEED_TITLE in text
        assert '<meta http-equiv="refresh" content="30">' in html
        for rule in r.app.ruleset.rules:
            assert rule.id in html
        assert r.app.ruleset.version in html
        assert "<mark>" in html and "<mark>Iranian-backed</mark>" in html
        assert "https://usa-daily-news.example/2023/10/23/iranian-backed-militias" in html
        # The failing feed is highlighted with its error; the good one is not.
        row = re.search(r'<tr class="failing">\s*<td>(.*?)</td>', html, re.S)
        assert row is not None and "refused" in row.group(1)
        assert "connection refused" in html
        assert r.app.instance.id in html
        # Untrusted text is text: the title's markup is escaped, the javascript: link dropped.
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert EVIL_TITLE in " ".join(text.split())
        assert "javascript:" not in html

        head = await client.head(r.url("/healthz"))
        assert head.status_code == 200
        assert (await client.get(r.url("/nope"))).status_code == 404


async def test_readyz_says_what_is_not_ready(make_settings: MakeSettings) -> None:
    port = free_port()
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{port}"})
    async with App.open(settings) as app:
        service = HttpService(app, scheduler_running=lambda: False)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                for _ in range(200):
                    try:
                        resp = await client.get(service.url + "readyz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                assert resp.status_code == 503
                body = resp.json()
                assert body["ready"] is False
                assert body["not_ready"] == ["scheduler"]
                assert body["checks"]["store"] == "ok"
                assert (await client.get(service.url + "healthz")).status_code == 200
        finally:
            stop.set()
            await asyncio.wait_for(task, TIMEOUT)
    with pytest.raises(httpx.TransportError):  # the server stopped and gave the port back
        httpx.get(service.url + "healthz", timeout=2.0)


async def test_a_token_guards_everything_but_healthz(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    token = "s3cret-token"
    port = free_port()
    settings = make_settings(
        feeds=seed_feeds(http_server)[:1], http={"listen": f"127.0.0.1:{port}", "token": token}
    )
    async with running(settings) as r, httpx.AsyncClient(timeout=10.0) as client:
        await wait_until(lambda: alerts_in_store(r.app) >= 6, "the seed alerts")
        assert (await client.get(r.url("/healthz"))).status_code == 200
        for path in ("/", "/readyz", "/metrics"):
            denied = await client.get(r.url(path))
            assert denied.status_code == 401, path
            assert denied.headers["www-authenticate"].startswith("Basic")
            assert token not in denied.text
            wrong = await client.get(r.url(path), headers={"Authorization": "Bearer s3cret"})
            assert wrong.status_code == 401
            bearer = await client.get(r.url(path), headers={"Authorization": f"Bearer {token}"})
            assert bearer.status_code == 200, path
            basic = await client.get(r.url(path), auth=("desk", token))
            assert basic.status_code == 200, path
            assert (await client.get(r.url(path), auth=(token, "x"))).status_code == 401
        page = await client.get(r.url("/"), headers={"Authorization": f"Bearer {token}"})
        assert SEED_TITLE in visible_text(page.text)
        assert token not in page.text


def test_token_matching() -> None:
    basic = "Basic " + base64.b64encode(b"user:tok:en").decode()
    assert token_matches(basic, "tok:en")
    assert token_matches("bearer tok", "tok")
    assert not token_matches("Bearer tok2", "tok")
    assert not token_matches("Basic !!!", "tok")
    assert not token_matches("Digest tok", "tok")
    assert not token_matches(None, "tok")
    assert not token_matches("", "tok")


def test_http_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert split_listen("127.0.0.1:8787") == ("127.0.0.1", 8787)
    assert split_listen("[::1]:80") == ("::1", 80)
    assert split_listen(":8787") == ("", 8787)
    for bad in ("8787", "localhost", "host:http", "::1:80", "[nope]:80", "h:70000"):
        with pytest.raises(ValueError):
            split_listen(bad)
    assert HttpConfig().listen is None  # off by default
    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MONITOR_HTTP__LISTEN", "127.0.0.1:9999")
    monkeypatch.setenv("MONITOR_HTTP__TOKEN", "abc")
    settings = load_settings(None)
    assert settings.http.listen == "127.0.0.1:9999"
    assert settings.http.token is not None and settings.http.token.get_secret_value() == "abc"
    assert "abc" not in repr(settings.http)


# --- `monitor run` as a process: the refusals and SIGTERM ---------------------------------


def write_config(tmp_path: Path, http: str) -> Path:
    shutil.copy(SEED_RSS, tmp_path / "seed.rss")
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
data_dir = "data"
[[feeds]]
name = "seed"
url = "seed.rss"
backfill_hours = -1
[rules]
paths = ["{STARTER_RULES}"]
watch = false
[channels.folder]
type = "folder"
path = "mail"
[http]
{http}
""",
        encoding="utf-8",
    )
    return config


def monitor_run(config: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        cwd=config.parent, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_a_port_in_use_fails_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = monitor_run(write_config(tmp_path, f'listen = "127.0.0.1:{port}"'))
    assert done.returncode == 2, done.stderr
    assert "http.listen" in done.stderr and f"127.0.0.1:{port}" in done.stderr
    assert "in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert "monitor running" not in done.stderr


@pytest.mark.parametrize("listen", ["0.0.0.0:{port}", ":{port}", "[::]:{port}"])
def test_a_non_loopback_address_needs_a_token(tmp_path: Path, listen: str) -> None:
    done = monitor_run(write_config(tmp_path, f'listen = "{listen.format(port=free_port())}"'))
    assert done.returncode == 2, done.stderr
    assert "http.token" in done.stderr and "not a loopback address" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_non_loopback_address_with_a_token_starts(make_settings: MakeSettings) -> None:
    port = free_port()
    settings = make_settings(feeds=[], http={"listen": f"0.0.0.0:{port}", "token": "t"})
    async with running(settings) as r, httpx.AsyncClient() as client:
        assert (await client.get(r.url("/"))).status_code == 401
    settings = make_settings(feeds=[], http={"listen": f"0.0.0.0:{port}"})
    async with App.open(settings) as app:
        with pytest.raises(StartupError, match=r"http\.token"):
            await Daemon(app).run()


def test_sigterm_stops_the_daemon_and_its_http_server(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, f'listen = "127.0.0.1:{port}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    log = tmp_path / "daemon.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        mail = tmp_path / "data" / "mail"
        while len(list(mail.glob("*.eml"))) < 6:  # started up (a stop mid-housekeeping logs)
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        # A browser's idle keep-alive connection must not hold the stop up.
        with httpx.Client() as keepalive:
            assert keepalive.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=TIMEOUT) == 0
        text = log.read_text()
        assert f"http on http://127.0.0.1:{port}/" in text
        assert "received SIGTERM" in text and "stopped" in text
        assert "Traceback" not in text
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2.0)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- headless Chromium -----------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (set CI to make this a failure)")
    return found


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 4 if colour == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [b"".join(r[i : i + 3] for i in range(0, len(r), bpp)) for r in rows]


async def run_chromium(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )  # not subprocess.run: the server under test runs on this loop
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode("utf-8", "replace")


class DevTools:
    """Chromium driven over ``--remote-debugging-pipe`` (the DevTools protocol as JSON
    messages ending in NUL on fds 3 and 4): typing and pressing keys as a user does, no
    WebDriver, no script in the page. Blocking: run it on a thread beside the server."""

    def __init__(self, browser: str, *flags: str) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # The protocol wants fds 3 and 4 in the browser: a Python trampoline moves them there.
        move = (f"import os, sys; os.dup2({to_chrome_r}, 3); os.dup2({from_chrome_w}, 4); "
                "os.execv(sys.argv[1], sys.argv[1:])")  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-c", move, browser, *flags, "--remote-debugging-pipe",
             "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(message)
        return found

    def send(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self.events.append(answer)

    def wait_for(self, event: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[: i + 1]
                    return seen
            self.events.append(self._read(deadline))

    def open_page(self) -> None:
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def node(self, selector: str) -> int:
        root = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        node_id: int = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node_id, f"no {selector} in the page"
        return node_id

    def type_into(self, selector: str, text: str) -> None:
        self.send("DOM.focus", nodeId=self.node(selector))
        self.send("Input.insertText", text=text)

    def press_enter(self) -> None:
        """Enter in the focused field: the browser submits its form and loads the answer."""
        self.events.clear()
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        self.send("Input.dispatchKeyEvent", type="keyDown", text="\r", **key)
        self.send("Input.dispatchKeyEvent", type="keyUp", **key)
        self.wait_for("Page.loadEventFired")

    def html(self) -> str:
        root = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        outer: str = self.send("DOM.getOuterHTML", nodeId=root)["outerHTML"]
        return outer

    def url(self) -> str:
        history = self.send("Page.getNavigationHistory")
        current: str = history["entries"][history["currentIndex"]]["url"]
        return current

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, TimeoutError, RuntimeError):
            self.send("Browser.close", timeout=10.0)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def assert_not_blank(png: bytes, size: tuple[int, int]) -> None:
    width, height, rows = png_pixels(png)
    assert (width, height) == size
    colours: dict[bytes, int] = {}
    for row in rows[::4]:
        for i in range(0, len(row), 3 * 4):
            px = row[i : i + 3]
            colours[px] = colours.get(px, 0) + 1
    total = sum(colours.values())
    background = max(colours.values())
    assert len(colours) > 50, "the screenshot has hardly any colours: a blank page?"
    assert total - background > total * 0.05, "almost every pixel is the background"


@pytest.mark.slow
async def test_the_status_page_renders_in_headless_chromium(
    http_server: LoopbackServer, make_settings: MakeSettings, tmp_path: Path
) -> None:
    browser = chromium()
    port = free_port()
    settings = make_settings(
        feeds=seed_feeds(http_server),
        fetch={"timeout": 2.0, "connect_timeout": 1.0},
        http={"listen": f"127.0.0.1:{port}"},
    )
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--window-size=1280,900"]  # fmt: skip
    shot = Path(os.environ.get("HTTP_TEST_SCREENSHOT") or tmp_path / "status.png")
    async with running(settings) as r:
        await wait_until(lambda: alerts_in_store(r.app) >= 6, "the seed alerts")
        await wait_until(lambda: outbox_settled(r.app), "the deliveries")
        code, _ = await run_chromium(
            browser, *flags, f"--user-data-dir={tmp_path / 'profile-1'}",
            f"--screenshot={shot}", r.base,
        )  # fmt: skip
        assert code == 0
        code, dom = await run_chromium(
            browser, *flags, f"--user-data-dir={tmp_path / 'profile-2'}", "--dump-dom", r.base
        )
        assert code == 0
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert_not_blank(shot.read_bytes(), (1280, 900))
    assert SEED_TITLE in visible_text(dom)
    assert "proxy-attacks-on-us-forces" in dom
    assert "<script" not in dom


@pytest.mark.slow
async def test_a_query_typed_into_the_box_in_headless_chromium(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    """An analyst types a query into the status page's box and presses Enter."""
    browser = chromium()
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{free_port()}"})
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--window-size=1280,900", f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    async with running(settings) as r:
        now = utcnow()
        with r.app.store.write() as uow:
            for n, (title, days) in enumerate(
                [(EVIL_TITLE, 1), ("Markets rally", 2), (f"Second report: {ATTACK}", 3)]
            ):
                article = Article(f"box-{n}", "wire", title, None, now - timedelta(days=days),
                                  content=f"{title}. Officials said.")  # fmt: skip
                uow.articles.upsert(article, link_key=None, now=now)

        def drive() -> tuple[str, str, bytes]:
            tools = DevTools(browser, *flags)
            try:
                tools.open_page()
                tools.navigate(r.base)
                tools.type_into("#query-box input[name=q]", "drone* NEAR/3 attack* NOT rally")
                tools.press_enter()
                return tools.url(), tools.html(), tools.screenshot()
            finally:
                tools.close()

        url, dom, png = await asyncio.to_thread(drive)
    assert "/backtest?q=drone*+NEAR%2F3+attack*+NOT+rally" in url  # a bookmark
    matched = re.search(r'<span class="total" id="matched">(\d+)</span>', dom)
    scanned = re.search(r'<span id="scanned">(\d+)</span>', dom)
    assert matched and scanned and (matched.group(1), scanned.group(1)) == ("2", "3")
    assert "<mark>drone</mark> <mark>attack</mark>" in dom
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert 'value="drone* NEAR/3 attack* NOT rally"' in dom
    assert dom.count('<td class="bar">') == 8
    if os.environ.get("HTTP_TEST_BOX_SCREENSHOT"):  # to look at it
        Path(os.environ["HTTP_TEST_BOX_SCREENSHOT"]).write_bytes(png)
    assert_not_blank(png, (1280, 900))
