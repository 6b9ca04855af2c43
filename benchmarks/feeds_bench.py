"""Feed polling throughput: Fetcher + parse_feed against sequential ``feedparser.parse(url)``.

Serves N generated feeds (20 items each, text drawn from the seed article) from
loopback HTTP servers in a separate process, spread over several loopback
addresses so the per-host limit behaves as it would across real publishers.
Then runs, in this process:

* cold cycle: every feed fetched and parsed (200 + body);
* warm cycle: every feed fetched again with its validators (304, nothing to parse);

once through the monitor's ``Fetcher`` (configured concurrency) + ``parse_feed``,
once through the whole poll of the product (``App.poll_all``: also storing, matching
the starter rules and queueing alerts, in a fresh SQLite store), and once through
the baseline, sequential ``feedparser.parse(url)`` with etag/modified. Times are
measured without tracing; peak Python memory is measured in a second, traced pass
of each cycle (``--no-memory`` skips it).

    .venv/bin/python benchmarks/feeds_bench.py [--feeds 1000] [--hosts 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.synchronize
import random
import re
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import feedparser

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make tests.servers importable
    sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import FetchConfig, Settings, resolve_paths  # noqa: E402
from monitor.sources.fetch import Fetcher  # noqa: E402
from monitor.sources.parse import parse_feed  # noqa: E402
from tests.servers import Delayed, LoopbackServer, Static  # noqa: E402

ITEMS_PER_FEED = 20
SEED = ROOT / "seeds" / "seed-article.txt"
TOPICS = ("Middle East", "Iran", "Iraq", "Syria", "Yemen", "Defense", "Diplomacy", "Energy")


# -- the feeds -------------------------------------------------------------------------------


def sentences() -> list[str]:
    text = SEED.read_text(encoding="utf-8") if SEED.exists() else ""
    found = [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s.strip()]
    return [s for s in found if len(s) > 30] or ["U.S. forces intercepted drones over Syria."]


def make_feed(index: int, pool: list[str], now: datetime) -> bytes:
    """One RSS 2.0 feed whose items read like wire stories (several paragraphs of HTML)."""
    rng = random.Random(index)
    items = []
    for n in range(ITEMS_PER_FEED):
        count = rng.randint(2, 4)
        paragraphs = ["<p>" + " ".join(rng.sample(pool, 3)) + "</p>" for _ in range(count)]
        title = rng.choice(pool)[:90]
        published = now - timedelta(minutes=37 * n + index % 60)
        link = f"https://publisher{index % 97}.example/{2024}/story-{index}-{n}?utm_source=rss"
        items.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">feed{index}-item{n}</guid>'
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
            f"<category>{rng.choice(TOPICS)}</category>"
            f"<description>{escape(''.join(paragraphs))}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Publisher {index}</title><link>https://publisher{index}.example/</link>"
        f"<description>World news</description><ttl>15</ttl>{''.join(items)}</channel></rss>"
    ).encode()


def serve(
    feeds: int,
    hosts: int,
    latency: float,
    ready: multiprocessing.Queue[list[str]],
    stop: multiprocessing.synchronize.Event,
) -> None:
    """Child process: serve every feed with an ETag and Last-Modified, until told to stop."""
    pool = sentences()
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    servers = [LoopbackServer(f"127.0.0.{1 + h}").start() for h in range(hosts)]
    urls = []
    for i in range(feeds):
        body = make_feed(i, pool, now)
        route = Static(
            body,
            etag=f'"feed-{i}-v1"',
            last_modified=format_datetime(now, usegmt=True),
            gzip=True,
        )
        served = Delayed(route, latency) if latency > 0 else route
        urls.append(servers[i % hosts].add(f"/feeds/{i}.rss", served))
    ready.put(urls)
    stop.wait()
    for server in servers:
        server.stop()


# -- the clients -----------------------------------------------------------------------------


@dataclass
class Cycle:
    feeds: int = 0
    articles: int = 0
    not_modified: int = 0
    errors: int = 0
    seconds: float = 0.0
    peak_bytes: int | None = None


Validators = dict[str, tuple[str | None, str | None]]


async def monitor_cycle(urls: list[str], config: FetchConfig, validators: Validators) -> Cycle:
    cycle = Cycle()
    fetched_at = datetime.now(UTC)

    async def one(fetcher: Fetcher, url: str) -> None:
        etag, modified = validators.get(url, (None, None))
        result = await fetcher.fetch(url, etag=etag, last_modified=modified)
        cycle.feeds += 1
        if result.error:
            cycle.errors += 1
            return
        validators[url] = (result.etag, result.last_modified)
        if result.not_modified or result.body is None:
            cycle.not_modified += 1
            return
        parsed = parse_feed(
            result.body, feed_name=url, url=result.final_url, headers=result.headers,
            fetched_at=fetched_at,
        )  # fmt: skip
        cycle.articles += len(parsed.articles)

    async with Fetcher(config) as fetcher:
        await asyncio.gather(*(one(fetcher, url) for url in urls))
    return cycle


def full_poll_cycles(
    urls: list[str], config: FetchConfig, measure_memory: bool
) -> tuple[Cycle, Cycle]:
    """The product's own cycle, ``App.poll_all``: fetch, parse, store, match the starter rules
    and queue the alerts, in a fresh SQLite store; cold then warm."""

    async def run_pair(data_dir: Path, traced: bool) -> list[Cycle]:
        settings = resolve_paths(
            Settings(
                feeds=[
                    {"name": f"feed-{i}", "url": url, "backfill_hours": -1}
                    for i, url in enumerate(urls)
                ],
                fetch=config.model_dump(),
                rules={"paths": [ROOT / "monitor" / "data" / "rules"], "watch": False},
                channels={"folder": {"type": "folder"}},
            ),
            data_dir,
        )
        cycles = []
        async with App.open(settings) as app:
            for _ in range(2):
                if traced:
                    tracemalloc.start()
                started = time.perf_counter()
                results = await app.poll_all()
                seconds = time.perf_counter() - started
                peak = tracemalloc.get_traced_memory()[1] if traced else None
                if traced:
                    tracemalloc.stop()
                cycles.append(
                    Cycle(
                        feeds=len(results),
                        articles=sum(r.new_articles for r in results),
                        not_modified=sum(r.not_modified for r in results),
                        errors=sum(r.failed for r in results),
                        seconds=seconds,
                        peak_bytes=peak,
                    )
                )
        return cycles

    with tempfile.TemporaryDirectory() as timed_dir:
        cold, warm = asyncio.run(run_pair(Path(timed_dir), traced=False))
    if measure_memory:
        with tempfile.TemporaryDirectory() as traced_dir:
            traced_cold, traced_warm = asyncio.run(run_pair(Path(traced_dir), traced=True))
        cold.peak_bytes, warm.peak_bytes = traced_cold.peak_bytes, traced_warm.peak_bytes
    return cold, warm


def baseline_cycle(urls: list[str], validators: Validators) -> Cycle:
    cycle = Cycle()
    for url in urls:
        etag, modified = validators.get(url, (None, None))
        result = feedparser.parse(url, etag=etag, modified=modified)
        cycle.feeds += 1
        status = result.get("status")
        if status == 304:
            cycle.not_modified += 1
        elif status != 200:
            cycle.errors += 1
        else:
            cycle.articles += len(result.entries)
        validators[url] = (result.get("etag"), result.get("modified"))
    return cycle


def timed(run: Callable[[], Cycle]) -> Cycle:
    started = time.perf_counter()
    cycle = run()
    cycle.seconds = time.perf_counter() - started
    return cycle


def traced_peak(run: Callable[[], Cycle]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def both_cycles(cold: Callable[[Validators], Cycle], measure_memory: bool) -> tuple[Cycle, Cycle]:
    """Cold then warm (the warm cycle reuses the cold cycle's validators)."""
    validators: Validators = {}
    first = timed(lambda: cold(validators))
    second = timed(lambda: cold(validators))
    if measure_memory:
        traced: Validators = {}
        first.peak_bytes = traced_peak(lambda: cold(traced))
        second.peak_bytes = traced_peak(lambda: cold(traced))
    return first, second


def in_loop(
    coroutine: Callable[[Validators], Coroutine[Any, Any, Cycle]],
) -> Callable[[Validators], Cycle]:
    return lambda validators: asyncio.run(coroutine(validators))


# -- report ----------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, Cycle, Cycle]]) -> str:
    header = (
        f"{'cycle':<6} {'client':<38} {'feeds':>6} {'304s':>5} {'errors':>6} {'articles':>8} "
        f"{'seconds':>8} {'feeds/s':>9} {'articles/s':>10} {'peak MiB':>8} {'vs baseline':>11}"
    )
    lines = [header, "-" * len(header)]
    for cycle_name, client, cycle, baseline in rows:
        rate = cycle.feeds / cycle.seconds
        ratio = baseline.seconds / cycle.seconds
        peak = f"{cycle.peak_bytes / 2**20:8.1f}" if cycle.peak_bytes is not None else f"{'-':>8}"
        lines.append(
            f"{cycle_name:<6} {client:<38} {cycle.feeds:>6} {cycle.not_modified:>5} "
            f"{cycle.errors:>6} {cycle.articles:>8} {cycle.seconds:>8.2f} {rate:>9.1f} "
            f"{cycle.articles / cycle.seconds:>10.0f} {peak} {ratio:>10.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds (default 1000)")
    parser.add_argument("--hosts", type=int, default=10, help="loopback addresses to spread over")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.05,
        help="server time to first byte in seconds, as from a real publisher (default 0.05; "
        "0 measures pure CPU cost)",
    )
    parser.add_argument("--concurrency", type=int, default=FetchConfig().concurrency)
    parser.add_argument("--per-host", type=int, default=FetchConfig().per_host)
    parser.add_argument("--no-memory", action="store_true", help="skip the traced memory pass")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue[list[str]] = context.Queue()
    stop = context.Event()
    server = context.Process(
        target=serve, args=(args.feeds, args.hosts, args.latency, ready, stop), daemon=True
    )
    server.start()
    try:
        urls = ready.get(timeout=120)
        config = FetchConfig(concurrency=args.concurrency, per_host=args.per_host)
        measure = not args.no_memory
        ours = both_cycles(in_loop(lambda v: monitor_cycle(urls, config, v)), measure)
        full = full_poll_cycles(urls, config, measure)
        base = both_cycles(lambda v: baseline_cycle(urls, v), measure)
    finally:
        stop.set()
        server.join(timeout=10)

    client = f"Fetcher+parse_feed (c={args.concurrency}, h={args.per_host})"
    print(
        f"{args.feeds} feeds x {ITEMS_PER_FEED} items on {args.hosts} loopback hosts, "
        f"{args.latency * 1000:.0f} ms server latency (gzip, ETag/Last-Modified); "
        f"Python {sys.version.split()[0]}, "
        f"feedparser {feedparser.__version__}\n"
    )
    print(
        table(
            [
                ("cold", client, ours[0], base[0]),
                ("cold", "monitor poll (+store, rules, alerts)", full[0], base[0]),
                ("cold", "feedparser.parse(url), sequential", base[0], base[0]),
                ("warm", client, ours[1], base[1]),
                ("warm", "monitor poll (+store, rules, alerts)", full[1], base[1]),
                ("warm", "feedparser.parse(url), sequential", base[1], base[1]),
            ]
        )
    )
    print("\nvs baseline: baseline seconds / these seconds for the same cycle (higher is better).")


if __name__ == "__main__":
    main()
