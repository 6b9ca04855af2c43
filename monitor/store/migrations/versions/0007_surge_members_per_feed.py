"""Surge members per feed: ``surge_matches`` is keyed by (rule, article, feed), so the same
article carried by several feeds (the same guid or canonical link) counts once per feed.

The rows already stored are kept (each is the article's first feed). PostgreSQL swaps the
primary key in place; SQLite, which cannot alter a primary key, copies the table.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = "rule_id, article_id, feed, published_at"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE surge_matches DROP CONSTRAINT surge_matches_pkey,"
            " ADD CONSTRAINT surge_matches_pkey PRIMARY KEY (rule_id, article_id, feed)"
        )
        return
    op.create_table(
        "surge_matches_next",
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("article_id", sa.Text, nullable=False),
        sa.Column("feed", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "article_id", "feed"),
    )
    op.execute(f"INSERT INTO surge_matches_next ({COLUMNS}) SELECT {COLUMNS} FROM surge_matches")
    op.drop_table("surge_matches")  # its indexes with it
    op.rename_table("surge_matches_next", "surge_matches")
    op.create_index("surge_matches_window", "surge_matches", ["rule_id", "published_at"])
    op.create_index("surge_matches_article", "surge_matches", ["article_id"])
