"""Regenerate monitor/data/seeds/seed-feed.{rss,atom} from the seed article and real feed items.

Run from the repository root with ``../shared`` beside it:
``.venv/bin/python seeds/make_seed_feeds.py``. The output is committed; tests read it offline.
"""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from time import struct_time
from xml.sax.saxutils import escape

import feedparser

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"
SEED = ROOT / "seeds" / "seed-article.txt"

SEED_ID = "urn:news-monitor:seed:000_7ed2b3815cf36a3a"
SEED_LINK = "https://usa-daily-news.example/2023/10/23/iranian-backed-militias-poised-to-escalate"
SEED_PUBLISHED = datetime(2023, 10, 23, 14, 0, tzinfo=UTC)

# (file under corpus/feeds, entry index): real items about other subjects.
OTHER_ITEMS = [
    ("rss-parser/guardian.rss", 0),
    ("rss-parser/guardian.rss", 3),
    ("rss-parser/guardian.rss", 5),
    ("rss-parser/guardian.rss", 9),
    ("rss-parser/guardian.rss", 10),
    ("netnewswire/livemint.xml", 1),
    ("netnewswire/livemint.xml", 2),
    ("netnewswire/medscape.rss", 8),
]


def seed_article() -> tuple[str, list[str]]:
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    paragraphs = [line for line in lines if line]
    # The first two lines are the site's masthead ("USA Daily News", its tagline).
    return paragraphs[2], paragraphs[3:]


@dataclass(frozen=True)
class Item:
    """A real feed item about another subject, as taken from its fixture."""

    source: str
    id: str
    title: str
    link: str
    published: datetime
    summary_html: str


def other_items() -> list[Item]:
    items = []
    for name, index in OTHER_ITEMS:
        entry = feedparser.parse(str(CORPUS / name)).entries[index]
        parsed: struct_time = entry.published_parsed
        items.append(
            Item(
                source=f"{name} entry {index}",
                id=entry.get("id") or entry.link,
                title=entry.title,
                link=entry.link,
                published=datetime(*parsed[:6], tzinfo=UTC),
                summary_html=entry.get("summary", ""),
            )
        )
    return items


def rss(title: str, paragraphs: list[str], others: list[Item]) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        "<channel>",
        "<title>News monitor seed feed (RSS)</title>",
        "<link>https://usa-daily-news.example/</link>",
        "<description>The seed article and real items about other subjects.</description>",
        "<ttl>5</ttl>",
        "<item>",
        f"<title>{escape(title)}</title>",
        f"<link>{SEED_LINK}</link>",
        f'<guid isPermaLink="false">{SEED_ID}</guid>',
        f"<pubDate>{format_datetime(SEED_PUBLISHED)}</pubDate>",
        "<author>newsroom@usa-daily-news.example (USA Daily News)</author>",
        f"<description>{escape(paragraphs[0])}</description>",
        f"<content:encoded><![CDATA[{body}]]></content:encoded>",
        "</item>",
    ]
    for item in others:
        out += [
            "<item>",
            f"<title>{escape(item.title)}</title>",
            f"<link>{escape(item.link)}</link>",
            f"<guid>{escape(item.id)}</guid>",
            f"<pubDate>{format_datetime(item.published)}</pubDate>",
            f"<description>{escape(item.summary_html)}</description>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom(title: str, paragraphs: list[str], others: list[Item]) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    updated = max([SEED_PUBLISHED, *(i.published for i in others)])
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        "<title>News monitor seed feed (Atom)</title>",
        "<id>urn:news-monitor:seed-feed</id>",
        f"<updated>{updated.isoformat()}</updated>",
        '<link rel="alternate" href="https://usa-daily-news.example/"/>',
        "<entry>",
        f"<title>{escape(title)}</title>",
        f'<link rel="alternate" href="{SEED_LINK}"/>',
        f"<id>{SEED_ID}</id>",
        f"<published>{SEED_PUBLISHED.isoformat()}</published>",
        f"<updated>{SEED_PUBLISHED.isoformat()}</updated>",
        "<author><name>USA Daily News</name></author>",
        f"<summary>{escape(paragraphs[0])}</summary>",
        f'<content type="html">{escape(body)}</content>',
        "</entry>",
    ]
    for item in others:
        out += [
            "<entry>",
            f"<title>{escape(item.title)}</title>",
            f'<link rel="alternate" href="{escape(item.link, {chr(34): "&quot;"})}"/>',
            f"<id>{escape(item.id)}</id>",
            f"<published>{item.published.isoformat()}</published>",
            f"<updated>{item.published.isoformat()}</updated>",
            f'<summary type="html">{escape(item.summary_html)}</summary>',
            "</entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)


def main() -> int:
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    title, paragraphs = seed_article()
    others = other_items()
    seeds = ROOT / "monitor" / "data" / "seeds"  # shipped in the package
    (seeds / "seed-feed.rss").write_text(rss(title, paragraphs, others), encoding="utf-8")
    (seeds / "seed-feed.atom").write_text(atom(title, paragraphs, others), encoding="utf-8")
    for item in others:
        print(f"{item.source}: {item.title}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
