"""Feed sources: fetch (the only I/O here), parse, identify and schedule feeds.

The pipeline: :class:`Fetcher` gets bytes (or learns nothing changed),
:func:`parse_feed` turns them into :class:`~monitor.models.Article` objects, and
:func:`next_interval` / :func:`backoff_delay` decide when to poll again.
"""

from monitor.sources.fetch import Fetcher, FetchResult
from monitor.sources.html_text import html_to_text
from monitor.sources.identity import article_id, canonical_url
from monitor.sources.opml import OpmlError, read_opml
from monitor.sources.parse import ParsedFeed, parse_feed
from monitor.sources.polling import backoff_delay, next_interval

__all__ = [
    "FetchResult",
    "Fetcher",
    "OpmlError",
    "ParsedFeed",
    "article_id",
    "backoff_delay",
    "canonical_url",
    "html_to_text",
    "next_interval",
    "parse_feed",
    "read_opml",
]
