"""The store's tables, written once for both backends (SQLAlchemy Core).

Ids are text (derived, deterministic) so that no backend sequence is needed; nested values
(tags, hits, the rule an alert was raised under) are JSON text. The migrations under
``migrations/`` create these; this module is what the queries are written against.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from monitor.store.types import UTCDateTime

metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("name", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("configured_url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("first_polled_at", UTCDateTime),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("interval_seconds", Integer),
    Column("next_poll_at", UTCDateTime),
    Column("articles_seen", Integer, nullable=False, server_default="0"),
    # Which instance is polling the feed now, and until when its claim holds.
    Column("lease_owner", Text),
    Column("lease_until", UTCDateTime),
    Index("feeds_due", "next_poll_at"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Text, primary_key=True),
    Column("feed", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("link_key", Text),
    Column("published_at", UTCDateTime, nullable=False),
    Column("author", Text),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("feed_tags", Text, nullable=False, server_default="[]"),
    Column("summary", Text, nullable=False, server_default=""),
    Column("content", Text, nullable=False, server_default=""),
    Column("summary_html", Text, nullable=False, server_default=""),
    Column("content_html", Text, nullable=False, server_default=""),
    Column("content_hash", Text, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("articles_last_seen", "last_seen_at"),
    Index("articles_link_key", "link_key"),
    Index("articles_feed_published", "feed", "published_at"),
    Index("articles_published", "published_at", "id"),  # backtests page by this key
)

article_sources = Table(
    "article_sources",
    metadata,
    Column("article_id", Text, nullable=False),
    Column("feed", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("article_id", "feed"),
)

matches = Table(
    "matches",
    metadata,
    Column("rule_id", Text, nullable=False),
    Column("article_id", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("matched_at", UTCDateTime, nullable=False),
    Column("hits", Text, nullable=False),
    PrimaryKeyConstraint("rule_id", "article_id"),
    Index("matches_article", "article_id"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("rule_id", Text, nullable=False),
    Column("article_id", Text, nullable=False),
    Column("rule_title", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("hits", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("rule_id", "article_id"),
    Index("alerts_created", "created_at"),
    Index("alerts_rule_created", "rule_id", "created_at"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column("digest", Text, nullable=False),
    Column("alert_id", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("digest_id", Text),
    Column("due_at", UTCDateTime),
    Column("reason", Text),
    PrimaryKeyConstraint("digest", "alert_id"),
    Index("digest_items_alert", "alert_id"),
    Index("digest_items_pending", "digest", "digest_id", "due_at", "created_at"),
)

digests = Table(
    "digests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("items", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("alert_id", Text),
    Column("digest_id", Text),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),  # the claim's token: marking compares it
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("claimed_by", Text),  # the instance holding the lease
    Column("lease_until", UTCDateTime),
    Column("story_id", Text),  # set: a story update following up the alert (alert_id)
    Index("outbox_due", "status", "next_attempt_at"),
    Index("outbox_alert", "alert_id"),
    Index("outbox_claimed_by", "claimed_by"),
)

instances = Table(
    "instances",
    metadata,
    Column("id", Text, primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("version", Text, nullable=False, server_default=""),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", Text, nullable=False),
    Column("fire_at", UTCDateTime, nullable=False),
    Column("instance", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("job", "fire_at"),
)

# A surge rule's state (see monitor.surges): firing or armed, since a published time. Written
# under the rule's lock; ``version`` makes every write a compare-and-set, so a decision taken
# on a stale state can never be stored.
surge_state = Table(
    "surge_state",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("firing", Integer, nullable=False),
    Column("since", UTCDateTime),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The matches of surge rules by published time (the rule's window is read by range, not by
# scanning every match of the rule): written beside ``matches`` for rules with ``surge:``,
# one row per feed that carried the matching article (the same article in three feeds is
# three feeds of the count).
surge_matches = Table(
    "surge_matches",
    metadata,
    Column("rule_id", Text, nullable=False),
    Column("article_id", Text, nullable=False),
    Column("feed", Text, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("rule_id", "article_id", "feed"),
    Index("surge_matches_window", "rule_id", "published_at"),
    Index("surge_matches_article", "article_id"),
)

# What a surge alert lists (its alert row names the article that completed the surge).
surges = Table(
    "surges",
    metadata,
    Column("alert_id", Text, primary_key=True),
    Column("rule_id", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("feeds", Text, nullable=False),  # JSON list, in the order they carried the story
    Column("article_ids", Text, nullable=False),  # JSON list, oldest first, at most LISTED
    Column("total", Integer, nullable=False),
)

# Stories: near-duplicate articles (syndicated copies) folded under their first copy.
stories = Table(
    "stories",
    metadata,
    Column("id", Text, primary_key=True),  # the id of its first article
    Column("signature", LargeBinary, nullable=False),  # the first article's MinHash
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # when an article last joined
    Index("stories_created", "created_at"),
)

# LSH band keys of each story's signature, found by key within the window, pruned after it.
story_bands = Table(
    "story_bands",
    metadata,
    Column("band", BigInteger, nullable=False),
    Column("story_id", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("band", "story_id"),
    Index("story_bands_created", "created_at"),
)

story_articles = Table(
    "story_articles",
    metadata,
    Column("article_id", Text, primary_key=True),
    Column("story_id", Text, nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    Column("similarity", Float, nullable=False),
    Index("story_articles_story", "story_id"),
)
