"""TLS evidence and the proxy of each capture (issue 13).

Five nullable columns on ``captures``: ``tls_verified`` (did the final response's certificate chain
verify; NULL over http and for captures made before), ``tls_fingerprint`` (the leaf's SHA-256, hex),
``tls_issuer``, ``tls_detail`` (``verified`` or ``untrusted: <why>``) and ``proxy`` (the proxy URL the
request went through, without credentials). Existing rows keep NULL: nothing was recorded then.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (("tls_verified", sa.Boolean), ("tls_fingerprint", lambda: sa.String(64)),
           ("tls_issuer", sa.Text), ("tls_detail", sa.Text), ("proxy", sa.Text))


def upgrade() -> None:
    """Add the columns (those not there yet: a version stamped back by hand keeps its own)."""
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("captures")}
    for name, kind in COLUMNS:  # ALTER TABLE ADD COLUMN on both databases: no table copy
        if name not in present:
            op.add_column("captures", sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("captures") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
