"""Stories: near-duplicate articles folded under their first copy (one alert per story);
outbox rows that are story updates name their story.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("stories_created", "stories", ["created_at"])
    op.create_table(
        "story_bands",
        sa.Column("band", sa.BigInteger, nullable=False),
        sa.Column("story_id", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("band", "story_id"),
    )
    op.create_index("story_bands_created", "story_bands", ["created_at"])
    op.create_table(
        "story_articles",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("story_id", sa.Text, nullable=False),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
    )
    op.create_index("story_articles_story", "story_articles", ["story_id"])
    op.add_column("outbox", sa.Column("story_id", sa.Text))
