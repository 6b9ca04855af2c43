"""Several ``monitor`` processes on one store, one of them killed mid-cycle.

Afterwards every (rule, article) has exactly one alert, every alert reached the webhook,
a resend carries the same ``webhook-id``, and no feed was fetched twice within its interval
except the feeds the killed instance held when it died.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.store import open_store
from tests.notifiers.conftest import Reply, WebhookReceiver
from tests.servers import Delayed, LoopbackServer, Static
from tests.stores import rows
from tests.test_daemon import Daemon, drone_feed

FEEDS = 9
STORIES = 3  # per feed


def feed_body(n: int) -> bytes:
    body = drone_feed(STORIES)
    return body.replace("drone-story-", f"f{n}-story-").replace("/drones/", f"/f{n}/").encode()


def config_for(tmp_path: Path, name: str, store_url: str, feeds: dict[str, str], hook: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    feed_lines = "".join(
        f'[[feeds]]\nname = "{n}"\nurl = "{u}"\ninterval = 600\nbackfill_hours = -1\n'
        for n, u in feeds.items()
    )
    config = folder / "monitor.toml"
    config.write_text(
        f"""
storm_threshold = 1000
data_dir = "{folder / "data"}"
{feed_lines}
[store]
url = "{store_url}"
heartbeat_seconds = 0.5
dead_after_seconds = 3
[fetch]
concurrency = 3
min_interval = 600
[rules]
paths = ["{tmp_path / "rules"}"]
watch = false
[channels.hook]
type = "webhook"
url = "{hook}"
[delivery]
concurrency = 2
poll_interval = 0.2
backoff_base = 0.5
[stories]
enabled = false  # the nine feeds carry the same generated stories: each must alert here
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def processes() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def setup(tmp_path: Path, http_server: LoopbackServer, delay: float) -> dict[str, str]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "drones.yaml").write_text(
        "rules:\n  - id: drones\n    title: Drones\n    severity: high\n    query: drone*\n"
        "  - id: attacks\n    title: Attacks\n    severity: low\n    query: attack\n",
        encoding="utf-8",
    )
    return {
        f"feed-{n}": http_server.add(f"/feed-{n}.rss", Delayed(Static(feed_body(n)), delay))
        for n in range(FEEDS)
    }


def check_outcome(
    store_url: str, webhook: WebhookReceiver, http_server: LoopbackServer, held: set[str]
) -> None:
    store = open_store(store_url, migrate_schema=False)
    try:
        alerts = rows(store, "SELECT rule_id, article_id, id FROM alerts")
        pairs = Counter((r[0], r[1]) for r in alerts)
        assert len(pairs) == FEEDS * STORIES * 2 and set(pairs.values()) == {1}
        statuses = rows(store, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
        assert statuses == [("sent", len(alerts))]
    finally:
        store.close()
    by_alert: dict[str, set[str]] = {}
    for request in webhook.requests:
        by_alert.setdefault(request.json()["id"], set()).add(request.headers["webhook-id"])
    assert set(by_alert) == {r[2] for r in alerts}, "every alert reached the webhook"
    assert all(len(ids) == 1 for ids in by_alert.values()), "a resend keeps its webhook-id"
    for n in range(FEEDS):
        fetched = len(http_server.requests_to(f"/feed-{n}.rss"))
        allowed = 2 if f"feed-{n}" in held else 1
        assert 1 <= fetched <= allowed, (f"feed-{n}", fetched, held)


def test_three_instances_on_postgresql_one_killed_mid_cycle(
    tmp_path: Path,
    pg_url: str,
    http_server: LoopbackServer,
    webhook_receiver: WebhookReceiver,
    processes: list[Daemon],
) -> None:
    feeds = setup(tmp_path, http_server, delay=1.5)
    webhook_receiver.default = Reply(delay=0.2)
    open_store(pg_url).close()  # `monitor store migrate`; the instances also migrate, locked
    configs = [
        config_for(tmp_path, f"i{i}", pg_url, feeds, webhook_receiver.url()) for i in range(3)
    ]
    for config in configs:
        processes.append(Daemon(config))
    store = open_store(pg_url, migrate_schema=False)
    try:
        wait_until(
            lambda: (
                rows(store, "SELECT COUNT(*) FROM instances")[0][0] == 3
                and rows(store, "SELECT COUNT(*) FROM feeds WHERE lease_owner IS NOT NULL")[0][0]
                > 0
            ),
            "three instances polling",
        )
        victim = processes[0]
        ids = rows(store, "SELECT id, pid FROM instances")
        victim_id = next(i for i, pid in ids if pid == victim.process.pid)
        held = {
            r[0] for r in rows(store, "SELECT name FROM feeds WHERE lease_owner = :o",
                               {"o": victim_id})
        }  # fmt: skip
        victim.stop(signal.SIGKILL)
        wait_until(
            lambda: len({r.json()["id"] for r in webhook_receiver.requests}) == FEEDS * STORIES * 2,
            "every alert delivered",
            timeout=90,
        )
    finally:
        store.close()
    for daemon in processes[1:]:
        assert daemon.stop(signal.SIGTERM) == 0, daemon.log
    check_outcome(pg_url, webhook_receiver, http_server, held)


def test_run_and_poll_once_side_by_side_on_sqlite(
    tmp_path: Path,
    http_server: LoopbackServer,
    webhook_receiver: WebhookReceiver,
    processes: list[Daemon],
) -> None:
    feeds = setup(tmp_path, http_server, delay=0.5)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    daemon_cfg = config_for(tmp_path, "daemon", url, feeds, webhook_receiver.url())
    cron_cfg = config_for(tmp_path, "cron", url, feeds, webhook_receiver.url())
    processes.append(Daemon(daemon_cfg))
    cron = subprocess.run(
        [sys.executable, "-m", "monitor", "poll", "--once", "--config", str(cron_cfg)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cron.returncode == 0, cron.stderr
    store = open_store(url, migrate_schema=False)
    try:
        wait_until(
            lambda: len({r.json()["id"] for r in webhook_receiver.requests}) == FEEDS * STORIES * 2,
            "every alert delivered",
        )
    finally:
        store.close()
    assert processes[0].stop(signal.SIGTERM) == 0
    check_outcome(url, webhook_receiver, http_server, held=set())


async def test_a_long_poll_once_keeps_its_claims_alive(
    tmp_path: Path, http_server: LoopbackServer, make_settings: Callable[..., object]
) -> None:
    """Regression: `poll --once` beat no heartbeat, so after `dead_after_seconds` another
    instance took over the feeds it was still polling (the scale benchmark saw 698 requests
    for 300 feeds with three instances)."""
    import asyncio

    from monitor.app import App

    url = http_server.add("/slow.rss", Delayed(Static(feed_body(0)), 3.0))
    settings = make_settings(
        feeds=[{"name": "slow", "url": url, "backfill_hours": -1}],
        store={"url": f"sqlite:///{tmp_path / 'm.db'}", "heartbeat_seconds": 0.3,
               "dead_after_seconds": 1.0},
        fetch={"timeout": 10},
    )  # fmt: skip
    async with App.open(settings) as first, App.open(settings) as second:  # type: ignore[arg-type]
        polling = asyncio.create_task(first.poll_all())
        await asyncio.sleep(2.0)  # first's claim is older than dead_after
        assert await second.poll_all() == []  # nothing due, nothing taken over
        [polled] = await polling
        assert not polled.failed
    assert len(http_server.requests_to("/slow.rss")) == 1
