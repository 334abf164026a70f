"""Per-schedule login profiles: ``schedules.profile``, the name of the login profile
(``collector.profiles``) a schedule's captures and checks go through (NULL: none).

The upgrade adds the column only when it is missing, so it also runs on a database stamped back by
hand (SQLite and PostgreSQL alike: a plain nullable ADD COLUMN).

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable column when it is missing."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("schedules")}
    if "profile" not in columns:
        op.add_column("schedules", sa.Column("profile", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop it."""
    op.drop_column("schedules", "profile")
