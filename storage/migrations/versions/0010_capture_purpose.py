"""Soft-404 probes marked as such: ``captures.purpose`` (issue 13).

``collector check`` captures a random sibling URL as a soft-404 probe; such a capture is evidence for a
verdict, not a page of the archive, so lists, counts, TimeMaps, CDX, search and exports leave it out
(it stays reachable by id, from the check that used it). Existing probes are the captures a check row's
``probe_id`` points at; their redirect hops are taken out of ``capture_hops`` and their texts out of the
search index (both derived data: the WARC records stay).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_PROBES = "SELECT probe_id FROM checks WHERE probe_id IS NOT NULL"


def upgrade() -> None:
    """Add ``captures.purpose``; mark the captures checks used as probes; unindex their hops and texts."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("captures")}
    if "purpose" not in columns:  # else already made (a version stamped back by hand): mark again
        op.add_column("captures", sa.Column("purpose", sa.String(16), nullable=True))
    op.execute(f"UPDATE captures SET purpose = 'probe' WHERE id IN ({_PROBES})")
    op.execute("DELETE FROM capture_hops WHERE capture_id IN "
               "(SELECT id FROM captures WHERE purpose IS NOT NULL)")
    op.execute("DELETE FROM search_documents WHERE capture_id IN "
               "(SELECT id FROM captures WHERE purpose IS NOT NULL)")


def downgrade() -> None:
    """Drop ``captures.purpose`` (the hops and texts taken out are not put back: ``collector reindex``)."""
    op.drop_column("captures", "purpose")  # SQLite 3.35+ drops a column in place
