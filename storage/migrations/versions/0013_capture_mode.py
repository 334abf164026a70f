"""How a capture was fetched and what page it belongs to (issue 14): ``captures.mode``,
``captures.mode_reason`` and ``captures.page_id``.

``mode`` is ``http`` or ``browser`` (older rows stay None and read as ``http``); ``mode_reason`` says why
that mode was chosen. ``page_id`` links a page requisite (HTTP mode) or a browser sub-resource to the page
capture it was loaded for; such captures are ordinary captures of their own URL (Memento, replay, CDX and
``get`` find them), but page lists leave them out.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the three columns and the index on ``page_id`` (unless a version stamped back by hand left
    them)."""
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("captures")}
    # plain ADD COLUMN (no table copy on SQLite, whatever the archive's size)
    if "mode" not in columns:
        op.add_column("captures", sa.Column("mode", sa.String(16), nullable=True))
    if "mode_reason" not in columns:
        op.add_column("captures", sa.Column("mode_reason", sa.Text(), nullable=True))
    if "page_id" not in columns:
        # SQLite cannot add a constraint without copying the table: the model's ForeignKey holds for
        # new SQLite files; PostgreSQL gets the constraint here
        sqlite = op.get_bind().dialect.name == "sqlite"
        refs = () if sqlite else (sa.ForeignKey("captures.id"),)
        op.add_column("captures", sa.Column("page_id", sa.Integer(), *refs, nullable=True))
    if "ix_captures_page" not in {i["name"] for i in inspector.get_indexes("captures")}:
        op.create_index("ix_captures_page", "captures", ["page_id"])


def downgrade() -> None:
    """Drop the index and the columns."""
    op.drop_index("ix_captures_page", "captures")
    for column in ("page_id", "mode_reason", "mode"):
        op.drop_column("captures", column)  # SQLite 3.35+ drops a column in place
