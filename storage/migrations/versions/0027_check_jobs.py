"""Queued checks (issue 16): what a check job needs beyond its URLs, and the verdicts it gave.

``jobs.spec`` (JSON) holds a check job's targets (citations, quotes, access dates), its baseline choice
and its probe URLs; ``jobs.stage`` says where a check job stands (``fetching`` its URLs, ``probing`` its
hosts, ``judged``); ``job_items.verdicts`` holds, per checked URL, the verdict lines the job stored (the
lines a local ``collector check --json`` prints). Capture jobs leave the three NULL.

down_revision is 0022 as the task names it; the integrator chains it. The upgrade adds only what is
missing, so it also runs on a database stamped back by hand.

Revision ID: 0027
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable columns (plain ADD COLUMN)."""
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("jobs")}
    for name, kind in (("spec", sa.JSON()), ("stage", sa.String(16))):
        if name not in columns:
            op.add_column("jobs", sa.Column(name, kind, nullable=True))
    if "verdicts" not in {c["name"] for c in inspector.get_columns("job_items")}:
        op.add_column("job_items", sa.Column("verdicts", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("job_items", "verdicts")
    op.drop_column("jobs", "stage")
    op.drop_column("jobs", "spec")
