"""Story folding: precision and recall on real articles, and its cost per article.

Everything is built at run time from ``--corpus`` (read in place: the labelled sets are for
research use only, and no pair is ever written anywhere):

* positives — real re-sends in Reuters-21578 (the same title on the same day, and
  ``CORRECTED - …`` stories beside the story they correct), and copies of real Reuters and
  BBC articles given the edits syndication makes (retitled, outlet suffix or ``UPDATE 1-``,
  lede trimmed, dateline/byline added, boilerplate appended, case changed);
* hard negatives — different real articles on the same topic and day (Reuters, the same
  topic code and date: many are formulaic earnings or commodity reports), the same BBC
  category, the same AG News class.

It prints precision, recall and F1 of the fold decision (a shared LSH band key and an
estimated similarity at or above the threshold) for a range of thresholds and for 1-, 2-
and 3-word shingles; the fingerprint speed of this implementation beside datasketch's (when
installed); and the cost per article of ingesting real articles through the pipeline with
``--stories`` (100,000) stories in the window, beside the same ingest without folding.

    python benchmarks/stories_bench.py --corpus ../shared/corpus [--pg postgresql://…/db]
"""

from __future__ import annotations

import argparse
import gzip
import html
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from monitor.bus import EventBus  # noqa: E402
from monitor.config import Settings, resolve_paths  # noqa: E402
from monitor.models import Article  # noqa: E402
from monitor.notifiers.routing import enqueue_alert  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.store import Store, open_store  # noqa: E402
from monitor.store.tables import stories, story_articles, story_bands  # noqa: E402
from monitor.stories import Fingerprinter, StoriesConfig  # noqa: E402
from monitor.stories.folding import StoryFolder  # noqa: E402
from monitor.stories.minhash import (  # noqa: E402
    band_keys,
    lsh_params,
    signature,
    similarity,
    to_bytes,
)
from monitor.stories.shingles import SHINGLE_WORDS, shingles, story_words  # noqa: E402
from tests.conftest import STARTER_RULES  # noqa: E402
from tests.rules.corpus import DEFAULT_CORPUS, ag_news, bbc  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
_REUTERS = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_FIELD = {n: re.compile(rf"<{n}>(.*?)</{n}>", re.S) for n in ("DATE", "TOPICS", "TITLE", "BODY")}
_D = re.compile(r"<D>(.*?)</D>")


# -- the corpus, read in place -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doc:
    article: Article
    day: str  # Reuters: the date; others: ""
    group: str  # topic code, category or class


def _clean(text: str) -> str:
    return html.unescape(re.sub(r"&#\d+;", " ", text)).replace("\x03", "").strip()


def reuters_docs(root: Path) -> list[Doc]:
    """Reuters-21578 with a title and a body; paragraphs (indented lines) as blank lines."""
    docs = []
    for path in sorted((root / "labelled" / "reuters21578").glob("reut2-*.sgm.gz")):
        raw = gzip.decompress(path.read_bytes()).decode("latin-1")
        for m in _REUTERS.finditer(raw):
            doc = m.group(2)
            found = {n: p.search(doc) for n, p in _FIELD.items()}
            if found["BODY"] is None or found["TITLE"] is None or found["DATE"] is None:
                continue
            body = _clean(found["BODY"].group(1))
            body = re.sub(r"\s*Reuter\s*$", "", body)
            body = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n {3,}", body))
            topics = _D.findall(found["TOPICS"].group(1)) if found["TOPICS"] else []
            article = Article(
                id=f"reuters:{m.group(1)}",
                feed="reuters",
                title=_clean(found["TITLE"].group(1)),
                link=None,
                published=NOW,
                content=body,
            )
            day = found["DATE"].group(1).split()[0]
            docs.append(Doc(article, day, topics[0] if topics else ""))
    return docs


def _norm_title(title: str) -> str:
    return " ".join(title.upper().split())


# -- labelled pairs, built in memory -----------------------------------------------------------


class Pair(NamedTuple):
    a: Article
    b: Article
    same: bool
    kind: str


OUTLETS = ("The Daily Courier", "Metro Online", "World Desk", "News24", "The Herald")
BOILERPLATE = (
    "Sign up for our newsletter to get the latest news.",
    "Copyright 2026 The Daily Courier. All rights reserved.",
    "Read more: the full story on our website.",
    "(Reporting by staff; editing by the desk)",
)


def syndicated_copy(a: Article, rng: random.Random, n: int) -> Article:
    """A copy as another outlet carries it: two or three of the edits syndication makes."""
    title, paragraphs = a.title, (a.summary or a.content).split("\n\n")
    lede = paragraphs[0]
    edits = rng.sample(("suffix", "update", "retitle", "trim", "dateline", "byline", "boiler",
                        "case"), rng.randint(2, 3))  # fmt: skip
    for edit in edits:
        if edit == "suffix":
            title = f"{title} | {rng.choice(OUTLETS)}"
        elif edit == "update":
            title = f"UPDATE {rng.randint(1, 3)}-{title}"
        elif edit == "retitle":  # a few words dropped or replaced
            words = title.split()
            if len(words) > 4:
                del words[rng.randrange(len(words))]
                words[rng.randrange(len(words))] = rng.choice(("says", "reports", "amid"))
            title = " ".join(words)
        elif edit == "trim":  # the lede cut to its first sentence(s)
            sentences = re.split(r"(?<=[.!?])\s+", lede)
            lede = " ".join(sentences[: max(1, len(sentences) - 1)])
            words = lede.split()
            lede = " ".join(words[: max(12, int(len(words) * 0.7))])
        elif edit == "dateline":
            lede = f"{rng.choice(('LONDON', 'NEW YORK', 'TOKYO', 'PARIS'))} (Agencies) - {lede}"
        elif edit == "byline":
            author = rng.choice(("Jane Doe", "John Smith", "A. Reporter"))
            lede = f"By {author}, staff writer. {lede}"
        elif edit == "boiler":
            lede = f"{lede} {rng.choice(BOILERPLATE)}"
        elif edit == "case":
            title = title.title() if title.isupper() else title.upper()
    content = "\n\n".join([lede, *paragraphs[1:]])
    return replace(a, id=f"copy:{n}:{a.id}", feed=rng.choice(OUTLETS), title=title,
                   summary="", content=content)  # fmt: skip


def _sample_pairs(items: Sequence[Article], rng: random.Random, limit: int, kind: str,
                  ) -> list[Pair]:  # fmt: skip
    pairs: list[Pair] = []
    if len(items) < 2:
        return pairs
    for _ in range(limit):
        a, b = rng.sample(list(items), 2)
        pairs.append(Pair(a, b, False, kind))
    return pairs


def build_pairs(root: Path, seed: int = 7) -> list[Pair]:
    rng = random.Random(seed)
    reuters = reuters_docs(root)
    pairs: list[Pair] = []
    # Real re-sends: the same title the same day; corrections beside what they correct.
    by_title_day: dict[tuple[str, str], list[Article]] = defaultdict(list)
    by_title: dict[str, list[Doc]] = defaultdict(list)
    for d in reuters:
        by_title_day[(_norm_title(d.article.title), d.day)].append(d.article)
        by_title[_norm_title(d.article.title)].append(d)
    resends = [
        Pair(group[0], other, True, "reuters re-send")
        for (title, _day), group in by_title_day.items()
        if len(title.split()) >= 3
        for other in group[1:]
    ]
    pairs += resends
    for d in reuters:
        title = _norm_title(d.article.title)
        if title.startswith("CORRECTED - "):
            for orig in by_title.get(title[len("CORRECTED - ") :], []):
                pairs.append(Pair(orig.article, d.article, True, "reuters correction"))
    # Syndicated copies of real articles.
    long_reuters = [d.article for d in reuters if len(d.article.content.split()) >= 40]
    bbc_articles = [a for _label, a in bbc(root)]
    for n, a in enumerate(rng.sample(long_reuters, 1000) + rng.sample(bbc_articles, 500)):
        pairs.append(Pair(a, syndicated_copy(a, rng, n), True, f"edited copy ({a.feed})"))
    # Hard negatives: other stories of the same topic and day; same category or class.
    resent = {(p.a.id, p.b.id) for p in pairs if p.same}
    resent |= {(b, a) for a, b in resent}
    same_day_topic: dict[tuple[str, str], list[Doc]] = defaultdict(list)
    for d in reuters:
        if d.group:
            same_day_topic[(d.day, d.group)].append(d)
    candidates = [
        (x.article, y.article)
        for group in same_day_topic.values()
        for i, x in enumerate(group)
        for y in group[i + 1 : i + 4]
        if _norm_title(x.article.title) != _norm_title(y.article.title)
        and (x.article.id, y.article.id) not in resent
    ]
    pairs += [Pair(a, b, False, "reuters same topic+day") for a, b in rng.sample(candidates, 4000)]
    by_cat: dict[str, list[Article]] = defaultdict(list)
    for label, a in bbc(root):
        by_cat[label].append(a)
    for _cat, items in sorted(by_cat.items()):
        pairs += _sample_pairs(items, rng, 300, "bbc same category")
    by_class: dict[str, list[Article]] = defaultdict(list)
    for label, a in ag_news(root):
        by_class[label].append(a)
    for _cls, items in sorted(by_class.items()):
        pairs += _sample_pairs(items, rng, 500, "ag news same class")
    return pairs


# -- precision and recall ----------------------------------------------------------------------


class Scored(NamedTuple):
    pair: Pair
    a: tuple[int, ...] | None
    b: tuple[int, ...] | None


def sign_pairs(pairs: Sequence[Pair], words: int, num_perm: int) -> list[Scored]:
    cache: dict[str, tuple[int, ...] | None] = {}

    def sig(a: Article) -> tuple[int, ...] | None:
        key = f"{a.id}\x00{a.title}"
        if key not in cache:
            found = shingles(story_words(a), words)
            cache[key] = signature(found, num_perm) if len(found) >= 6 else None
        return cache[key]

    return [Scored(p, sig(p.a), sig(p.b)) for p in pairs]


def folds(s: Scored, threshold: float, num_perm: int) -> bool:
    if s.a is None or s.b is None:
        return False
    bands, rows = lsh_params(threshold, num_perm)
    if not set(band_keys(s.a, bands, rows)) & set(band_keys(s.b, bands, rows)):
        return False
    return similarity(s.a, s.b) >= threshold


def prf(scored: Sequence[Scored], threshold: float, num_perm: int) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for s in scored:
        got = folds(s, threshold, num_perm)
        tp += got and s.pair.same
        fp += got and not s.pair.same
        fn += (not got) and s.pair.same
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def report_quality(pairs: list[Pair], num_perm: int, chosen: float) -> None:
    kinds: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        kinds[p.kind].append(p)
    print("labelled pairs (built in memory from the corpus):")
    for kind, items in kinds.items():
        print(f"  {kind:28s} {len(items):6,d} {'same story' if items[0].same else 'different'}")
    print()
    print("| shingle | threshold | LSH bands×rows | precision | recall | F1 |")
    print("|---|---|---|---|---|---|")
    by_words: dict[int, list[Scored]] = {}
    for words in (1, 2, 3, 4):
        scored = by_words[words] = sign_pairs(pairs, words, num_perm)
        for t in THRESHOLDS:
            p, r, f = prf(scored, t, num_perm)
            b, rows = lsh_params(t, num_perm)
            print(f"| {words} word(s) | {t:.2f} | {b}×{rows} | {p:.3f} | {r:.3f} | {f:.3f} |")
    print()
    print(f"at the default ({SHINGLE_WORDS}-word shingles, threshold {chosen}), per set:")
    print("| set | pairs | folded |")
    print("|---|---|---|")
    scored = by_words[SHINGLE_WORDS]
    for kind in kinds:
        mine = [s for s in scored if s.pair.kind == kind]
        n = sum(folds(s, chosen, num_perm) for s in mine)
        print(f"| {kind} | {len(mine):,} | {n:,} ({n / len(mine):.1%}) |")
    print()


# -- speed -------------------------------------------------------------------------------------


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def report_fingerprint_speed(articles: Sequence[Article], num_perm: int) -> None:
    sets = [shingles(story_words(a)) for a in articles]
    sets = [s for s in sets if s]
    fp = Fingerprinter(StoriesConfig(num_perm=num_perm))
    rows = [
        ("words + shingles", best_of(lambda: [shingles(story_words(a)) for a in articles])),
        ("signature (this implementation)",
         best_of(lambda: [signature(s, num_perm) for s in sets])),
        ("whole fingerprint (+ band keys)", best_of(lambda: [fp.of(a) for a in articles])),
    ]  # fmt: skip
    try:
        from datasketch import MinHash

        def datasketch_all() -> None:
            for s in sets:
                m = MinHash(num_perm=num_perm)
                m.update_batch([x.encode("utf-8") for x in s])

        rows.append(("signature (datasketch 2.0, numpy)", best_of(datasketch_all)))
    except ImportError:
        rows.append(("signature (datasketch: not installed)", float("nan")))
    base = rows[1][1]
    print(f"fingerprints of {len(articles):,} real articles, num_perm={num_perm}, best of 3:")
    print("| step | µs per article | × this signature |")
    print("|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds / len(articles) * 1e6:,.0f} | {seconds / base:.2f}× |")
    print()


def fill_window(store: Store, n: int, config: StoriesConfig, rng: random.Random) -> None:
    """``n`` stories first seen within the window, with random signatures (band keys of real
    stories are as good as random), written in bulk."""
    bands, rows = lsh_params(config.similarity, config.num_perm, config.bands)
    batch = 5000
    for start in range(0, n, batch):
        s_rows, b_rows, a_rows = [], [], []
        for i in range(start, min(n, start + batch)):
            sig = tuple(rng.getrandbits(32) for _ in range(config.num_perm))
            at = NOW - timedelta(seconds=rng.uniform(60, config.window_hours * 3600 * 0.9))
            sid = f"filler-{i}"
            s_rows.append({"id": sid, "signature": to_bytes(sig), "created_at": at,
                           "updated_at": at})  # fmt: skip
            a_rows.append({"article_id": sid, "story_id": sid, "joined_at": at, "similarity": 1.0})
            b_rows += [{"band": k, "story_id": sid, "created_at": at}
                       for k in set(band_keys(sig, bands, rows))]  # fmt: skip
        with store.write() as uow:
            conn = uow._conn
            conn.execute(insert(stories), s_rows)
            conn.execute(insert(story_bands), b_rows)
            conn.execute(insert(story_articles), a_rows)
    if store.backend == "postgresql":
        # Statistics, as autovacuum gathers them after a bulk load: without them PostgreSQL
        # guessed thousands of rows per band key and planned the lookup with parallel workers.
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def report_ingest_cost(url: str, label: str, rounds: Sequence[Sequence[Article]],
                       n_stories: int, tmp: Path) -> None:  # fmt: skip
    config = StoriesConfig()
    settings = resolve_paths(
        Settings(data_dir=tmp, feeds=[], rules={"paths": [str(STARTER_RULES)], "watch": False},
                 channels={"mail": {"type": "folder", "path": str(tmp / "mail")}}),
        tmp,
    )  # fmt: skip
    ruleset = load_rules([STARTER_RULES]).ruleset
    assert ruleset is not None
    store = open_store(url)
    try:
        start = time.perf_counter()
        fill_window(store, n_stories, config, random.Random(1))
        filled = time.perf_counter() - start
        print(f"{label}: {n_stories:,} stories in the window ({filled:.0f} s to write them)")

        def run(folder: StoryFolder | None, tag: str, articles: Sequence[Article]) -> float:
            pipeline = Pipeline(
                store, lambda: ruleset,
                lambda uow, alert, now: enqueue_alert(uow, alert, settings, now),
                EventBus(), retention=timedelta(days=90), stories=folder,
            )  # fmt: skip
            batch = [replace(a, id=f"{tag}:{a.id}") for a in articles]
            import asyncio

            async def go() -> None:
                for i in range(0, len(batch), 20):  # a feed poll brings about 20 items
                    await pipeline.ingest(batch[i : i + 20], now=NOW)

            start = time.perf_counter()
            asyncio.run(go())
            return time.perf_counter() - start

        base: list[float] = []
        folded: list[float] = []
        # Alternated, so drift on a shared machine hits both alike; each round other articles,
        # so that the folding run places new stories (a repeat would only join its own).
        for round_, part in enumerate(rounds):
            base.append(run(None, f"base{round_}", part) / len(part))
            folded.append(run(StoryFolder(config), f"story{round_}", part) / len(part))
        b, f = min(base) * 1e3, min(folded) * 1e3
        print("| ingest (store, match, alert) | ms per article | × baseline |")
        print("|---|---|---|")
        print(f"| without story folding (baseline) | {b:.2f} | 1.00× |")
        print(f"| with story folding | {f:.2f} | {f / b:.2f}× |")
        print(f"| cost of folding | {f - b:.2f} | |")
        print(f"(best of {len(rounds)} alternated rounds of {len(rounds[0]):,} articles in polls "
              f"of 20; medians {statistics.median(base) * 1e3:.2f} / "
              f"{statistics.median(folded) * 1e3:.2f} ms)")  # fmt: skip
        print()
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--stories", type=int, default=100_000, help="stories in the window")
    parser.add_argument("--articles", type=int, default=2000, help="articles ingested per run")
    parser.add_argument("--pg", help="also measure on this (empty) PostgreSQL database")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true", help="with --pg: PostgreSQL only")
    args = parser.parse_args(argv)
    if not (args.corpus / "labelled" / "reuters21578").is_dir():
        parser.error(f"no corpus at {args.corpus} (labelled/reuters21578 is missing)")
    config = StoriesConfig()
    if not args.skip_quality:
        report_quality(build_pairs(args.corpus), config.num_perm, config.similarity)
    rng = random.Random(3)
    docs = [d.article for d in reuters_docs(args.corpus)]
    sample = rng.sample(docs, min(3 * args.articles, len(docs)))
    rounds = [sample[i::3] for i in range(3)]
    report_fingerprint_speed(rounds[0], config.num_perm)
    if args.skip_ingest:
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            report_ingest_cost(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", rounds,
                               args.stories, Path(tmp))  # fmt: skip
        if args.pg:
            report_ingest_cost(args.pg, "PostgreSQL", rounds, args.stories, Path(tmp))


if __name__ == "__main__":
    main()
