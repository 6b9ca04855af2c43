"""Scale-out: a cold poll cycle of many feeds by one or several ``monitor`` processes.

Serves N generated feeds (the generator of ``feeds_bench.py``: 20 wire-story items
each, gzip, ETag/Last-Modified) from H loopback HTTP servers on 127.0.0.2.. in a
separate process, every response after a fixed latency. Then, for each
configuration, runs real ``monitor poll --once --config CONFIG.toml`` processes
against a fresh store (migrated beforehand, outside the timing):

* one instance on SQLite (the baseline);
* one instance on PostgreSQL;
* three instances on one PostgreSQL database, started together (they claim due
  feeds from the database, so each feed is polled by exactly one of them).

Measured per configuration: wall time until every process has exited, articles/s
(rows in ``articles`` afterwards), CPU seconds of each instance (``os.wait4``), and
a check that every feed was requested exactly once (server side) and marked polled
(``feeds.last_polled_at``).

    .venv/bin/python benchmarks/scale_bench.py [--feeds 3000] [--hosts 10] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make tests.servers, benchmarks importable
    sys.path.insert(0, str(ROOT))

from benchmarks.feeds_bench import ITEMS_PER_FEED, make_feed, sentences  # noqa: E402
from tests.servers import (  # noqa: E402
    Delayed,
    LoopbackServer,
    RecordedRequest,
    Response,
    Static,
)

MONITOR = ROOT / ".venv" / "bin" / "monitor"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BASE = "postgresql://postgres@127.0.0.1:5432/"


# -- the feeds (server process) --------------------------------------------------------------


@dataclass
class PreGzipped(Static):
    """``Static`` with the gzip body computed once, so the server's CPU (one process, one
    GIL, for every host) is not what the benchmark measures."""

    def __post_init__(self) -> None:
        self._gzipped = gzip.compress(self.body)

    def respond(self, request: RecordedRequest, stopping: threading.Event) -> Response:
        response = super().respond(request, stopping)
        if response.headers.get("Content-Encoding") == "gzip":
            return Response(response.status, response.headers, self._gzipped)
        return response


def feed_name(i: int) -> str:
    return f"feed-{i:04d}"


def serve(
    feeds: int, hosts: int, latency: float, conn: multiprocessing.connection.Connection
) -> None:
    """Child process: serve the feeds; answer "counts" (requests per path since the last
    "counts") and "stop" on ``conn``."""
    pool = sentences()
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    servers = [LoopbackServer(f"127.0.0.{2 + h}").start() for h in range(hosts)]
    urls = []
    for i in range(feeds):
        route = PreGzipped(
            make_feed(i, pool, now),
            etag=f'"feed-{i}-v1"',
            last_modified=format_datetime(now, usegmt=True),
            gzip=True,
        )
        served = Delayed(route, latency) if latency > 0 else route
        urls.append(servers[i % hosts].add(f"/{feed_name(i)}.xml", served))
    conn.send(urls)
    while True:
        command = conn.recv()
        if command == "counts":
            counts: Counter[str] = Counter()
            for server in servers:
                with server._lock:
                    taken, server.requests[:] = list(server.requests), []
                counts.update(f"{server.host}:{server.port}{r.path}" for r in taken)
            conn.send(dict(counts))
        else:
            break
    for server in servers:
        server.stop()
    conn.send("stopped")


# -- one configuration -----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    instances: int
    seconds: float = 0.0
    articles: int = 0
    cpu: list[float] = field(default_factory=list)  # user+sys per instance
    exit_codes: list[int] = field(default_factory=list)
    polled: int = 0  # feeds with last_polled_at set
    requested: int = 0  # distinct feed paths requested
    max_requests: int = 0  # most requests to one feed path
    total_requests: int = 0
    failed_feeds: int = 0  # "monitor.poll: ... error=" lines in the instances' logs
    timed_out: bool = False
    ok: bool = False
    problems: list[str] = field(default_factory=list)


def toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string of plain text is a valid TOML basic string


def write_config(
    path: Path, work: Path, store_url: str, urls: list[str], args: argparse.Namespace
) -> None:
    lines = [
        f"data_dir = {toml_str(str(work / 'data'))}",
        "[store]",
        f"url = {toml_str(store_url)}",
        "[fetch]",
        f"concurrency = {args.concurrency}",
        f"per_host = {args.per_host}",
        "backfill_hours = -1",
        "[rules]",
        f"paths = [{toml_str(str(ROOT / 'monitor' / 'data' / 'rules'))}]",
        "watch = false",
        "[logging]",
        'level = "WARNING"',
        "[channels.sink]",
        'type = "folder"',
        f"path = {toml_str(str(work / 'mail'))}",
    ]
    for i, url in enumerate(urls):
        lines += ["[[feeds]]", f"name = {toml_str(feed_name(i))}", f"url = {toml_str(url)}"]
        lines.append("interval = 900")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_checked(cmd: list[str], timeout: float, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            cmd, env=clean_env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{tail}")


def wait_all(
    procs: list[subprocess.Popen[bytes]], deadline: float
) -> tuple[list[tuple[int, float]], bool]:
    """Reap each child with ``os.wait4`` (its own rusage); kill everything past ``deadline``.
    Returns (exit code, CPU seconds) per process, and whether the deadline killed some."""
    reaped: dict[int, tuple[int, float]] = {}
    killed = False
    while len(reaped) < len(procs):
        for proc in procs:
            if proc.pid in reaped:
                continue
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap again
                reaped[pid] = (proc.returncode, usage.ru_utime + usage.ru_stime)
        if len(reaped) < len(procs):
            if time.monotonic() > deadline:
                for proc in procs:
                    if proc.pid not in reaped:
                        proc.send_signal(signal.SIGKILL)
                deadline, killed = float("inf"), True
            time.sleep(0.005)
    return [reaped[p.pid] for p in procs], killed


def count_sqlite(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        polled = db.execute("SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL")
        return articles, polled.fetchone()[0]


def count_pg(url: str) -> tuple[int, int]:
    with psycopg.connect(url, connect_timeout=10) as db:
        articles = db.execute("SELECT count(*) FROM articles").fetchone()
        polled = db.execute("SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL")
        return articles[0] if articles else 0, (polled.fetchone() or (0,))[0]


def run_configuration(
    name: str,
    backend: str,
    instances: int,
    urls: list[str],
    server: multiprocessing.connection.Connection,
    args: argparse.Namespace,
) -> Result:
    result = Result(name, instances)
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    dbname = f"bench_{secrets.token_hex(6)}"
    admin = None
    try:
        if backend == "postgresql":
            admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10)
            admin.execute(f'CREATE DATABASE "{dbname}"')
            store_url = PG_BASE + dbname
        else:
            store_url = f"sqlite:///{work / 'monitor.db'}"
        config = work / "config.toml"
        write_config(config, work, store_url, urls, args)
        run_checked(
            [str(MONITOR), "store", "migrate", "--config", str(config)],
            timeout=120,
            log=work / "migrate.log",
        )
        server.send("counts")
        server.recv()  # forget anything before the cycle

        logs = [(work / f"instance-{n}.log").open("wb") for n in range(instances)]
        cmd = [str(MONITOR), "poll", "--once", "--config", str(config)]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            started = time.monotonic()
            for log in logs:
                procs.append(
                    subprocess.Popen(cmd, env=clean_env(), stdout=log, stderr=subprocess.STDOUT)
                )
            reaped, result.timed_out = wait_all(procs, deadline=started + args.timeout)
            result.seconds = time.monotonic() - started
        finally:
            for proc in procs:  # interrupted: leave no instance behind
                if proc.returncode is None:
                    proc.kill()
                    proc.wait(timeout=10)
            for log in logs:
                log.close()
        result.exit_codes = [code for code, _ in reaped]
        result.cpu = [cpu for _, cpu in reaped]

        server.send("counts")
        counts: dict[str, int] = server.recv()
        feed_paths = {u.split("://", 1)[1] for u in urls}
        per_feed = {p: n for p, n in counts.items() if p in feed_paths}
        result.requested = len(per_feed)
        result.max_requests = max(per_feed.values(), default=0)
        result.total_requests = sum(counts.values())
        if backend == "postgresql":
            result.articles, result.polled = count_pg(store_url)
        else:
            result.articles, result.polled = count_sqlite(work / "monitor.db")

        feeds = len(urls)
        texts = [(work / f"instance-{n}.log").read_text(errors="replace") for n in range(instances)]
        result.failed_feeds = sum(
            1
            for t in texts
            for line in t.splitlines()
            if "monitor.poll:" in line and " error=" in line
        )
        if result.timed_out:
            result.problems.append(f"killed after the {args.timeout:.0f} s timeout")
        if result.failed_feeds:
            result.problems.append(f"{result.failed_feeds} feed polls failed (see the logs)")
        if any(result.exit_codes):
            result.problems.append(f"exit codes {result.exit_codes}")
            for n in range(instances):
                tail = "\n".join(texts[n].splitlines()[-6:])
                print(
                    f"--- {name}, instance {n} (exit {result.exit_codes[n]}), last log lines:\n"
                    f"{tail}",
                    file=sys.stderr,
                )
        if result.requested != feeds:
            result.problems.append(f"{feeds - result.requested} feeds never requested")
        if result.max_requests > 1 or result.total_requests != feeds:
            result.problems.append(
                f"{result.total_requests} requests for {feeds} feeds "
                f"(max {result.max_requests} to one feed)"
            )
        if result.polled != feeds:
            result.problems.append(f"last_polled_at set on {result.polled}/{feeds} feeds")
        if result.articles != feeds * ITEMS_PER_FEED:
            result.problems.append(f"{result.articles} articles, expected {feeds * ITEMS_PER_FEED}")
        result.ok = not result.problems
        return result
    finally:
        if admin is not None:
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            finally:
                admin.close()
        if args.keep:
            print(f"(kept {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)


# -- report ----------------------------------------------------------------------------------


def table(results: list[Result], feeds: int) -> str:
    base = results[0]
    header = (
        f"{'configuration':<26} {'inst':>4} {'wall s':>7} {'feeds/s':>8} {'articles':>8} "
        f"{'articles/s':>10} {'CPU s per instance':>22} {'CPU s total':>11} "
        f"{'speed vs base':>13} {'CPU vs base':>11} {'failed':>6} {'polled once':>11}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        cpu_total = sum(r.cpu)
        per = " ".join(f"{c:.1f}" for c in r.cpu)
        check = "yes" if r.ok else "NO"
        lines.append(
            f"{r.name:<26} {r.instances:>4} {r.seconds:>7.2f} {feeds / r.seconds:>8.1f} "
            f"{r.articles:>8} {r.articles / r.seconds:>10.0f} {per:>22} {cpu_total:>11.1f} "
            f"{base.seconds / r.seconds:>12.2f}x {cpu_total / sum(base.cpu):>10.2f}x "
            f"{r.failed_feeds:>6} {check:>11}"
        )
    for r in results:
        for problem in r.problems:
            lines.append(f"  {r.name}: {problem}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=3000, help="number of feeds (default 3000)")
    parser.add_argument("--hosts", type=int, default=10, help="loopback hosts 127.0.0.2.. (10)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per response (0.2)")
    parser.add_argument("--concurrency", type=int, default=50, help="[fetch] concurrency (50)")
    parser.add_argument("--per-host", type=int, default=10, help="[fetch] per_host (10)")
    parser.add_argument("--timeout", type=float, default=600, help="max seconds per cycle (600)")
    parser.add_argument("--keep", action="store_true", help="keep the work folders (logs, stores)")
    args = parser.parse_args()
    if not 1 <= args.hosts <= 250:
        parser.error("--hosts must be 1..250")

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # run the cleanup (children, databases, folders)

    signal.signal(signal.SIGTERM, terminated)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(
        target=serve, args=(args.feeds, args.hosts, args.latency, theirs), daemon=True
    )
    server.start()
    results: list[Result] = []
    interrupted = False
    try:
        if not ours.poll(300):
            raise RuntimeError("the feed server did not start in 300 s")
        urls: list[str] = ours.recv()
        for name, backend, instances in (
            ("1 x monitor, SQLite", "sqlite", 1),
            ("1 x monitor, PostgreSQL", "postgresql", 1),
            ("3 x monitor, 1 PostgreSQL", "postgresql", 3),
        ):
            print(f"running: {name} ...", file=sys.stderr, flush=True)
            try:
                r = run_configuration(name, backend, instances, urls, ours, args)
            except SystemExit:  # SIGTERM (an outer timeout): report what was measured
                print(f"  interrupted during: {name}", file=sys.stderr, flush=True)
                interrupted = True
                break
            results.append(r)
            print(
                f"  {r.seconds:.2f} s, {r.articles} articles, CPU {[round(c, 1) for c in r.cpu]}"
                f", {'ok' if r.ok else '; '.join(r.problems)}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        try:
            ours.send("stop")
            ours.poll(15)
        except OSError:
            pass
        server.join(timeout=15)
        if server.is_alive():
            server.kill()

    print(
        f"\n{args.feeds} feeds x {ITEMS_PER_FEED} items on {args.hosts} loopback hosts, "
        f"{args.latency * 1000:.0f} ms per response (gzip); cold cycle: "
        f"`monitor poll --once`, fetch concurrency {args.concurrency}, per_host {args.per_host} "
        f"per instance; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}\n"
    )
    if results:
        print(table(results, args.feeds))
    if interrupted:
        print(f"\n(interrupted: {len(results)} of 3 configurations measured)")
    print(
        "\nspeed vs base: baseline wall seconds / these (higher is faster); CPU vs base: total "
        "CPU seconds of the instances / the baseline's. failed: feed polls logged as failed. "
        "polled once: every feed requested exactly once and marked polled, all articles "
        "stored, no failed poll, all instances exited 0."
    )
    if interrupted or not all(r.ok for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
