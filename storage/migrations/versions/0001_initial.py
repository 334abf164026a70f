"""Captures and extractions.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the captures and extractions tables."""
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("reason_detail", sa.Text),
        sa.Column("http_status", sa.Integer),
        sa.Column("final_url", sa.Text),
        sa.Column("final_url_key", sa.Text),
        sa.Column("redirect_chain", sa.JSON),
        sa.Column("content_type", sa.String(255)),
        sa.Column("content_length", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("warc_file", sa.Text),
        sa.Column("warc_offset", sa.BigInteger),
        sa.Column("warc_length", sa.BigInteger),
        sa.Column("warc_record_id", sa.String(64)),
        sa.Column("payload_file", sa.Text),
        sa.Column("payload_offset", sa.BigInteger),
        sa.Column("payload_length", sa.BigInteger),
        sa.Column("revisit_of", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("records", sa.JSON),
        sa.Column("ip_address", sa.String(64)),
        sa.Column("ignore_robots", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("allow_private", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("user_agent", sa.Text),
        sa.Column("run_id", sa.String(64)),
        sa.Column("fetch_seconds", sa.Float),
    )
    op.create_index("ix_captures_key_time", "captures", ["url_key", "captured_at"])
    op.create_index("ix_captures_key_sha", "captures", ["url_key", "sha256"])
    op.create_index("ix_captures_time", "captures", ["captured_at"])
    op.create_table(
        "extractions",
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("text_sha256", sa.String(64)),
        sa.Column("text_length", sa.Integer),
        sa.Column("title", sa.Text),
        sa.Column("published", sa.String(32)),
        sa.Column("language", sa.String(16)),
        sa.Column("extracted_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("warc_file", sa.Text),
        sa.Column("warc_offset", sa.BigInteger),
        sa.Column("warc_length", sa.BigInteger),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("extractions")
    op.drop_index("ix_captures_time", "captures")
    op.drop_index("ix_captures_key_sha", "captures")
    op.drop_index("ix_captures_key_time", "captures")
    op.drop_table("captures")
