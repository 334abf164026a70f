"""Ignore rules (issue 17): the ``ignore_rules`` table, and on ``checks`` the raw comparison kept beside
the filtered one (``raw_status``, ``raw_similarity``) with the ids of the rules that applied
(``ignored_rules``).

A rule is a CSS selector, an XPath expression or a regular expression whose matches a check leaves out of
the text comparison, for one source (``scope`` ``url``, ``target`` the URL, matched by its canonical key),
one report (``target`` its name) or every check (``global``). A check's ``status`` and ``similarity``
are of the filtered texts; when a rule removed something, ``raw_status`` and ``raw_similarity`` say what
the raw texts gave. Older checks keep NULL there (no rule applied).

Notifications (the same issue): ``webhooks.from_config`` marks the webhooks (http(s) or Apprise URLs)
added from the ``notify_urls`` setting, so they are kept in step with it.

down_revision is 0013, not the 0012 the task named: 0013 (merged into main since) revises 0012 already,
and with two heads no database opens. The integrator re-chains it; the upgrade checks what exists first,
so it also runs on a database stamped back by hand.

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``ignore_rules``; add the nullable columns to ``checks`` and ``webhooks`` (plain ADD
    COLUMN)."""
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("checks")}
    for name, kind in (("raw_status", sa.String(16)), ("raw_similarity", sa.Float()),
                       ("ignored_rules", sa.JSON())):
        if name not in columns:
            op.add_column("checks", sa.Column(name, kind, nullable=True))
    if "from_config" not in {c["name"] for c in inspector.get_columns("webhooks")}:
        op.add_column("webhooks", sa.Column("from_config", sa.Boolean(), nullable=True))
    if inspector.has_table("ignore_rules"):
        return
    op.create_table(
        "ignore_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pattern", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index("ix_ignore_rules_scope", "ignore_rules", ["scope", "target"])


def downgrade() -> None:
    """Drop the columns and the table."""
    op.drop_column("webhooks", "from_config")
    for column in ("ignored_rules", "raw_similarity", "raw_status"):
        op.drop_column("checks", column)
    op.drop_index("ix_ignore_rules_scope", "ignore_rules")
    op.drop_table("ignore_rules")
