"""RFC 3161 timestamps of ledger checkpoints (issue 15): ``ledger_checkpoints.tsa_token``, ``tsa_time``
and ``tsa_url``.

A checkpoint recorded while the time-stamping authority was unreachable keeps None in all three until
``collector ledger timestamp`` fills them.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None

_COLUMNS = (("tsa_token", sa.LargeBinary()), ("tsa_time", sa.DateTime()), ("tsa_url", sa.Text()))


def upgrade() -> None:
    """Add the three nullable columns (plain ADD COLUMN: no table copy on SQLite)."""
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("ledger_checkpoints")}
    for name, kind in _COLUMNS:
        if name not in present:
            op.add_column("ledger_checkpoints", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    """Drop the three columns."""
    for name, _ in reversed(_COLUMNS):
        op.drop_column("ledger_checkpoints", name)
