"""Several instances on one database: leases on feeds and outbox rows, heartbeats, cron claims.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("lease_owner", sa.Text))
    op.add_column("feeds", sa.Column("lease_until", UTCDateTime))
    op.create_index("feeds_due", "feeds", ["next_poll_at"])
    op.add_column("outbox", sa.Column("claimed_by", sa.Text))
    op.add_column("outbox", sa.Column("lease_until", UTCDateTime))
    op.create_index("outbox_claimed_by", "outbox", ["claimed_by"])
    op.create_table(
        "instances",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
        sa.Column("version", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("fire_at", UTCDateTime, nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("job", "fire_at"),
    )
