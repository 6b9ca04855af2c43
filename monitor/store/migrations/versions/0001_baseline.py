"""The schema as the SQLite-only store left it (its schema_version 3).

Revision ID: 0001
A store created before Alembic is stamped at this revision, then upgraded like any other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T = sa.Text


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("name", T, primary_key=True),
        sa.Column("url", T, nullable=False),
        sa.Column("configured_url", T, nullable=False),
        sa.Column("etag", T),
        sa.Column("last_modified", T),
        sa.Column("first_polled_at", UTCDateTime),
        sa.Column("last_polled_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", T),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("next_poll_at", UTCDateTime),
        sa.Column("articles_seen", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "articles",
        sa.Column("id", T, primary_key=True),
        sa.Column("feed", T, nullable=False),
        sa.Column("title", T, nullable=False),
        sa.Column("link", T),
        sa.Column("link_key", T),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("author", T),
        sa.Column("tags", T, nullable=False, server_default="[]"),
        sa.Column("summary", T, nullable=False, server_default=""),
        sa.Column("content", T, nullable=False, server_default=""),
        sa.Column("summary_html", T, nullable=False, server_default=""),
        sa.Column("content_html", T, nullable=False, server_default=""),
        sa.Column("content_hash", T, nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("articles_last_seen", "articles", ["last_seen_at"])
    op.create_index("articles_link_key", "articles", ["link_key"])
    op.create_index("articles_feed_published", "articles", ["feed", "published_at"])
    op.create_table(
        "article_sources",
        sa.Column("article_id", T, nullable=False),
        sa.Column("feed", T, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "feed"),
    )
    op.create_table(
        "matches",
        sa.Column("rule_id", T, nullable=False),
        sa.Column("article_id", T, nullable=False),
        sa.Column("content_hash", T, nullable=False),
        sa.Column("matched_at", UTCDateTime, nullable=False),
        sa.Column("hits", T, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "article_id"),
    )
    op.create_index("matches_article", "matches", ["article_id"])
    op.create_table(
        "alerts",
        sa.Column("id", T, primary_key=True),
        sa.Column("rule_id", T, nullable=False),
        sa.Column("article_id", T, nullable=False),
        sa.Column("rule_title", T, nullable=False),
        sa.Column("severity", T, nullable=False),
        sa.Column("rule", T, nullable=False),
        sa.Column("hits", T, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("rule_id", "article_id"),
    )
    op.create_index("alerts_created", "alerts", ["created_at"])
    op.create_index("alerts_rule_created", "alerts", ["rule_id", "created_at"])
    op.create_table(
        "digest_items",
        sa.Column("digest", T, nullable=False),
        sa.Column("alert_id", T, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("digest_id", T),
        sa.Column("due_at", UTCDateTime),
        sa.Column("reason", T),
        sa.PrimaryKeyConstraint("digest", "alert_id"),
    )
    op.create_index("digest_items_alert", "digest_items", ["alert_id"])
    op.create_index(
        "digest_items_pending", "digest_items", ["digest", "digest_id", "due_at", "created_at"]
    )
    op.create_table(
        "digests",
        sa.Column("id", T, primary_key=True),
        sa.Column("name", T, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", T, primary_key=True),
        sa.Column("alert_id", T),
        sa.Column("digest_id", T),
        sa.Column("channel", T, nullable=False),
        sa.Column("status", T, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claimed_at", UTCDateTime),
        sa.Column("last_error", T),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
    )
    op.create_index("outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("outbox_alert", "outbox", ["alert_id"])
