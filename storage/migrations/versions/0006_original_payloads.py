"""Index only the captures a revisit can point at (stored, non-revisit payloads).

A revisit never needs to be found by its payload digest, so the (url_key, sha256) index skips it: an
unchanged page captured again adds no entry to this index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_WHERE = "revisit_of IS NULL AND payload_file IS NOT NULL"


def upgrade() -> None:
    """Replace ix_captures_key_sha with a partial index of original payloads."""
    op.drop_index("ix_captures_key_sha", table_name="captures")
    op.create_index("ix_captures_key_sha", "captures", ["url_key", "sha256"],
                    sqlite_where=sa.text(_WHERE), postgresql_where=sa.text(_WHERE))


def downgrade() -> None:
    """Back to a full (url_key, sha256) index."""
    op.drop_index("ix_captures_key_sha", table_name="captures")
    op.create_index("ix_captures_key_sha", "captures", ["url_key", "sha256"])
