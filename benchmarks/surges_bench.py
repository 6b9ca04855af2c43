"""What a surge rule costs the pipeline: ingest with one broad rule, per article vs ``surge:``.

Generates F feeds publishing A matching articles each over a day (a busy story: every article
matches), and ingests them as polls would bring them — in time order, a few articles per
feed per poll — through the real pipeline on a fresh store, twice in this process:

* baseline: the rule alerts per article (the ordinary path: alert, routing, outbox);
* surge: the same rule with ``surge: {sources: 3, within: 2h}`` (matches recorded, the surge
  evaluated under the rule's lock over the stored matches of two windows).

Also the pure core alone (``monitor.surges.Replay``, the backtest's path) over the same matches.
Prints seconds, articles per second and the ratio to the baseline. ``--copies N``: each article
is carried by N feeds under the same guid and link (a wire story in N outlets), so that every
copy after the first is a known article from a new feed (a surge member of its own).

    .venv/bin/python benchmarks/surges_bench.py [--feeds 20] [--articles 200] [--copies 1]
        [--store URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monitor.bus import EventBus  # noqa: E402
from monitor.config import Settings  # noqa: E402
from monitor.models import Article, Rule, RuleMatch, Surge  # noqa: E402
from monitor.notifiers.routing import enqueue_alert  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.store import open_store  # noqa: E402
from monitor.surges import Member, Replay  # noqa: E402

START = datetime(2026, 6, 1, tzinfo=UTC)
PER_POLL = 5


class Everything:
    """One rule matching every article (matching cost is not what is measured here)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def match(self, article: Article) -> list[RuleMatch]:
        return [RuleMatch(self.rule)]

    def get(self, rule_id: str) -> Rule | None:
        return self.rule if rule_id == self.rule.id else None


def polls(feeds: int, per_feed: int, copies: int = 1) -> list[list[Article]]:
    """Each feed's articles evenly over 24 h (feeds offset), cut into polls, in time order;
    each also carried by the ``copies - 1`` next feeds (the same guid, link and time)."""
    step = timedelta(hours=24) / per_feed
    batches: list[tuple[datetime, list[Article]]] = []
    carried: dict[int, list[Article]] = {f: [] for f in range(feeds)}
    for f in range(feeds):
        offset = step * f / feeds
        for i in range(per_feed):
            a = Article(
                id=f"f{f}-{i}", feed=f"feed-{f}", title=f"Story {i} of feed {f}",
                link=f"https://feed-{f}.example/{i}", published=START + offset + step * i,
            )  # fmt: skip
            for k in range(copies):
                carried[(f + k) % feeds].append(replace(a, feed=f"feed-{(f + k) % feeds}"))
    for items in carried.values():
        items.sort(key=lambda a: (a.published, a.id))
        for k in range(0, len(items), PER_POLL):
            chunk = items[k : k + PER_POLL]
            batches.append((chunk[-1].published, chunk))
    batches.sort(key=lambda b: b[0])
    return [b for _, b in batches]


def run_pipeline(url: str, rule: Rule, batches: list[list[Article]], data: Path) -> float:
    settings = Settings(data_dir=data, storm_threshold=10**9, feeds=[])
    store = open_store(url)
    try:
        matcher = Everything(rule)
        pipeline = Pipeline(
            store, lambda: matcher,
            lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
            EventBus(), retention=timedelta(days=3650),
        )  # fmt: skip

        async def go() -> None:
            for batch in batches:
                await pipeline.ingest(batch, now=batch[-1].published + timedelta(minutes=1))

        started = time.perf_counter()
        asyncio.run(go())
        return time.perf_counter() - started
    finally:
        store.close()


def run_core(surge: Surge, batches: list[list[Article]]) -> tuple[float, int]:
    replay = Replay({"r": surge})
    ordered = sorted((a for b in batches for a in b), key=lambda a: (a.published, a.id))
    started = time.perf_counter()
    found = 0
    for a in ordered:  # each copy as it comes (the backtest gives an article's feeds at once)
        found += len(replay.add("r", Member(a.id, a.feed, a.published)))
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--articles", type=int, default=200, help="per feed, over 24 h")
    parser.add_argument("--copies", type=int, default=1, help="feeds carrying each article")
    parser.add_argument("--store", default=None, help="a store URL (default: a new SQLite file)")
    args = parser.parse_args()
    batches = polls(args.feeds, args.articles, args.copies)
    total = sum(len(b) for b in batches)
    plain = Rule(id="busy", title="Busy story", severity="high", query="story")
    surging = Rule(id="busy", title="Busy story", severity="high", query="story",
                   surge=Surge(3, timedelta(hours=2)))  # fmt: skip
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, rule in (("per-article alerts (baseline)", plain), ("surge: 3 in 2h", surging)):
            url = args.store or f"sqlite:///{Path(tmp) / ((rule.surge and 's') or 'p')}.db"
            if args.store:
                print(
                    "note: --store is reused by both runs; give an empty database", file=sys.stderr
                )
            rows.append((name, run_pipeline(url, rule, batches, Path(tmp))))
    core_s, surges = run_core(Surge(3, timedelta(hours=2)), batches)
    rows.append(("pure core (Replay, as backtest)", core_s))
    base = rows[0][1]
    window = total / 24 * 2 / args.feeds
    print(f"{args.feeds} feeds x {args.articles} articles x {args.copies} copies = {total} "
          f"matches over 24 h, "
          f"{len(batches)} polls of <= {PER_POLL}; about {window:.0f} per feed per 2 h window; "
          f"{surges} surge(s)")  # fmt: skip
    print(f"{'variant':<34} {'seconds':>8} {'articles/s':>11} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"{name:<34} {seconds:>8.2f} {total / seconds:>11.0f} {seconds / base:>11.2f}x")


if __name__ == "__main__":
    main()
