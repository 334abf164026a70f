"""Reports, their versions, citations and hand-attached links.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create reports, report_versions, citations and citation_links."""
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_table(
        "report_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("warnings", sa.JSON),
        sa.Column("doc_warc_file", sa.Text),
        sa.Column("doc_warc_offset", sa.BigInteger),
        sa.UniqueConstraint("report_id", "version", name="uq_report_version"),
    )
    op.create_table(
        "citations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("report_versions.id"), nullable=False,
                  index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("raw", sa.Text),
        sa.Column("authors", sa.JSON),
        sa.Column("title", sa.Text),
        sa.Column("publisher", sa.Text),
        sa.Column("date", sa.String(64)),
        sa.Column("date_iso", sa.String(10)),
        sa.Column("pages", sa.String(64)),
        sa.Column("urls", sa.JSON),
        sa.Column("ibid_of", sa.String(64)),
        sa.Column("anchor_text", sa.Text),
        sa.Column("context", sa.Text),
        sa.Column("quotes", sa.JSON),
        sa.Column("in_body", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("has_entry", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("needs_url", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "citation_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, index=True),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("quote", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=False), nullable=False),
    )


def downgrade() -> None:
    """Drop the report tables."""
    for table in ("citation_links", "citations", "report_versions", "reports"):
        op.drop_table(table)
