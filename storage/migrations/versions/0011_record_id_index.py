"""Index captures by WARC-Record-ID, wide enough to hold the ids other tools write.

``collector import`` asks, for each batch of records, which are indexed already (``storage.reindex``):
an index on ``captures.warc_record_id`` answers that without reading every row. The column was 64
characters wide; a record id longer than that (any URI is allowed: ``<urn:uuid:...>`` is 47, other
tools write longer ones) was cut, and the cut id never matched its record again. 255 holds them (a
longer one is cut to 255 the same way when stored and when looked up: ``storage.storable``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_captures_record_id"


def upgrade() -> None:
    """Widen the column to 255 (PostgreSQL: no table rewrite; SQLite does not enforce a VARCHAR's
    length, so its table is not copied for it) and index it."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.alter_column("captures", "warc_record_id", type_=sa.String(255),
                        existing_type=sa.String(64), existing_nullable=True)
    if INDEX not in {ix["name"] for ix in sa.inspect(bind).get_indexes("captures")}:
        op.create_index(INDEX, "captures", ["warc_record_id"])


def downgrade() -> None:
    """Drop the index and narrow the column back (longer ids are cut to 64, as they were)."""
    op.drop_index(INDEX, table_name="captures")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("captures", "warc_record_id", type_=sa.String(64),
                        existing_type=sa.String(255), existing_nullable=True,
                        postgresql_using="left(warc_record_id, 64)")
