"""Articles keep the tags of the feed that brought them (alerts show them; rules filter on them).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("feed_tags", sa.Text, nullable=False, server_default="[]"))
