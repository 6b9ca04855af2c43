"""Surge rules: each rule's surge state, its matches by published time, each surge's list.

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surge_state",
        sa.Column("rule_id", sa.Text, primary_key=True),
        sa.Column("firing", sa.Integer, nullable=False),
        sa.Column("since", UTCDateTime),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "surge_matches",
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("article_id", sa.Text, nullable=False),
        sa.Column("feed", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "article_id"),
    )
    op.create_index("surge_matches_window", "surge_matches", ["rule_id", "published_at"])
    op.create_index("surge_matches_article", "surge_matches", ["article_id"])
    op.create_table(
        "surges",
        sa.Column("alert_id", sa.Text, primary_key=True),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("feeds", sa.Text, nullable=False),
        sa.Column("article_ids", sa.Text, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
    )
