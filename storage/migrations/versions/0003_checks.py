"""Checks: a new capture compared with a baseline, and the verdict.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the checks table."""
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("baseline_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("probe_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("similarity", sa.Float),
        sa.Column("redirected", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("http_status", sa.Integer),
        sa.Column("final_url", sa.Text),
        sa.Column("sha256", sa.String(64)),
        sa.Column("text_sha256", sa.String(64)),
        sa.Column("signals", sa.JSON),
        sa.Column("quotes", sa.JSON),
        sa.Column("report", sa.String(200)),
        sa.Column("ref", sa.String(64)),
    )
    op.create_index("ix_checks_key_time", "checks", ["url_key", "checked_at"])


def downgrade() -> None:
    """Drop the checks table."""
    op.drop_index("ix_checks_key_time", "checks")
    op.drop_table("checks")
