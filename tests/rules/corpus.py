"""Read the labelled news sets in ``../shared/corpus`` in place (never copied: research use only).

Shared by the rule tests and ``benchmarks/rules_bench.py``. Every reader yields
``(label, Article)`` so callers can pick articles by subject.
"""

from __future__ import annotations

import csv
import gzip
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from monitor.models import Article

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus"
AG_CLASSES = {"1": "world", "2": "sports", "3": "business", "4": "scitech"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REUTERS = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_TAG = {name: re.compile(rf"<{name}>(.*?)</{name}>", re.S) for name in ("TITLE", "BODY", "PLACES")}
_D = re.compile(r"<D>(.*?)</D>")


def ag_news(root: Path = DEFAULT_CORPUS) -> Iterator[tuple[str, Article]]:
    """AG News test split: title + description, label world|sports|business|scitech."""
    path = root / "labelled" / "ag_news" / "test.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            label, title, description = row[0], row[1], row[2].replace("\\", " ")
            yield AG_CLASSES[label], _article(f"ag:{i}", "ag_news", title, description)


def bbc(root: Path = DEFAULT_CORPUS) -> Iterator[tuple[str, Article]]:
    """BBC News 2004-05: one file per article, first line the title, label = folder."""
    base = root / "labelled" / "bbc"
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.txt")):
            text = _decode(path.read_bytes())
            title, _, body = text.strip().partition("\n")
            yield (
                folder.name,
                _article(f"bbc:{folder.name}/{path.stem}", "bbc", title, body.strip()),
            )


def reuters(root: Path = DEFAULT_CORPUS) -> Iterator[tuple[str, Article]]:
    """Reuters-21578 documents with a body; label = space-separated PLACES."""
    base = root / "labelled" / "reuters21578"
    for path in sorted(base.glob("reut2-*.sgm.gz")):
        raw = gzip.decompress(path.read_bytes()).decode("latin-1")
        for m in _REUTERS.finditer(raw):
            doc = m.group(2)
            body = _TAG["BODY"].search(doc)
            if body is None:
                continue
            title = _TAG["TITLE"].search(doc)
            places = _TAG["PLACES"].search(doc)
            label = " ".join(_D.findall(places.group(1))) if places else ""
            yield (
                label,
                _article(
                    f"reuters:{m.group(1)}",
                    "reuters",
                    _clean(title.group(1)) if title else "",
                    _clean(body.group(1)),
                ),
            )


def middle_east_reuters_ids(root: Path = DEFAULT_CORPUS) -> set[str]:
    """Reuters NEWIDs whose PLACES include a Middle East country (from derived/)."""
    path = root / "derived" / "reuters21578_middle_east_index.tsv"
    with path.open(encoding="utf-8") as fh:
        next(fh)
        return {f"reuters:{line.split(chr(9))[1]}" for line in fh if line.strip()}


def _decode(data: bytes) -> str:
    """The BBC files are UTF-8 (read as Latin-1, "£" became "Â£"), all but one."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _clean(text: str) -> str:
    text = re.sub(r"&#\d+;", " ", text)
    return html.unescape(text).replace("\x03", "").strip()


def _article(article_id: str, feed: str, title: str, content: str) -> Article:
    return Article(
        id=article_id, feed=feed, title=title, link=None, published=_EPOCH, content=content
    )
