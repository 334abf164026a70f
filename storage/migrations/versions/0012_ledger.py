"""The capture ledger (issue 15): ``ledger_entries`` and ``ledger_checkpoints``.

The captures and texts already in the archive are adopted: each gets an entry now, which proves only
what its row said at this migration (see docs/evidence.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ledger tables (unless a version stamped back by hand left them) and adopt the
    existing rows."""
    if not sa.inspect(op.get_bind()).has_table("ledger_entries"):
        _create_tables()
    from storage.ledger import adopt_rows  # lazy: only this migration needs it

    adopt_rows(Session(bind=op.get_bind()))


def _create_tables() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("row_id", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_ledger_entries_kind_row", "ledger_entries", ["kind", "row_id"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("key_fingerprint", sa.String(64), nullable=True),
        sa.Column("public_key", sa.String(64), nullable=True),
        sa.Column("frontier", sa.Text, nullable=True),
    )


def downgrade() -> None:
    """Drop the ledger tables."""
    op.drop_table("ledger_checkpoints")
    op.drop_index("ix_ledger_entries_kind_row", "ledger_entries")
    op.drop_table("ledger_entries")
