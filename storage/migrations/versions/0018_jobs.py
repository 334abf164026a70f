"""The work ledger of the capture workers (issue 16): ``jobs`` and ``job_items``.

A job is one enqueue (``collector capture --queue``); a job item is one of its URLs, queued ->
claimed by a worker until its lease expires -> done or failed with the capture row that answered it.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables (unless a version stamped back by hand left them)."""
    if sa.inspect(op.get_bind()).has_table("jobs"):
        return
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
    )
    op.create_table(
        "job_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("context", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=False), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("capture_id", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )
    op.create_index("ix_job_items_job_id", "job_items", ["job_id"])
    op.create_index("ix_job_items_status_lease", "job_items", ["status", "lease_until"])


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_index("ix_job_items_status_lease", "job_items")
    op.drop_index("ix_job_items_job_id", "job_items")
    op.drop_table("job_items")
    op.drop_table("jobs")
