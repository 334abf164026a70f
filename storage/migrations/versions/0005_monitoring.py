"""Schedules, feeds, feed entries, webhooks and the daemon lease (issue 5).

APScheduler's own job table (``apscheduler_jobs``) is created by its SQLAlchemyJobStore, in the same
database, the first time a scheduler starts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=False)


def upgrade() -> None:
    """Create the monitoring tables."""
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("capture_all", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("match_text", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("base_interval", sa.Float, nullable=False),
        sa.Column("interval", sa.Float, nullable=False),
        sa.Column("next_poll_at", _TIME),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.String(64)),
        sa.Column("last_polled_at", _TIME),
        sa.Column("last_success_at", _TIME),
        sa.Column("last_new_entry_at", _TIME),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("warning", sa.Text),
        sa.Column("warning_at", _TIME),
    )
    op.create_table(
        "feed_polls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),
        sa.Column("polled_at", _TIME, nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("http_status", sa.Integer),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("new_entries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("interval", sa.Float, nullable=False),
        sa.Column("warning", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_feed_polls_feed_time", "feed_polls", ["feed_id", "polled_at"])
    op.create_table(
        "feed_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("guid_key", sa.String(64)),
        sa.Column("link", sa.Text),
        sa.Column("link_key", sa.String(64)),
        sa.Column("title", sa.Text),
        sa.Column("title_key", sa.String(64)),
        sa.Column("summary", sa.Text),
        sa.Column("published", _TIME),
        sa.Column("first_seen_at", _TIME, nullable=False),
        sa.Column("feed_capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id")),
        sa.Column("capture_outcome", sa.String(16)),
        sa.UniqueConstraint("feed_id", "guid_key", name="uq_feed_entries_guid"),
        sa.UniqueConstraint("feed_id", "link_key", name="uq_feed_entries_link"),
        sa.UniqueConstraint("feed_id", "title_key", name="uq_feed_entries_title"),
    )
    op.create_table(
        "feed_matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("feed_entries.id"), nullable=False),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),
        sa.Column("keyword", sa.Text, nullable=False),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("matched_at", _TIME, nullable=False),
    )
    op.create_index("ix_feed_matches_entry_id", "feed_matches", ["entry_id"])
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("every_seconds", sa.Float),
        sa.Column("cron", sa.String(100)),
        sa.Column("adaptive", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("schedule_id", sa.Integer),
        sa.Column("scheduled_for", _TIME, nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("job_id", "scheduled_for", name="uq_schedule_runs_slot"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_check_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_match_id", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TIME),
        sa.Column("last_error", sa.Text),
        sa.Column("http_status", sa.Integer),
        sa.Column("delivered_at", _TIME),
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "daemon_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", _TIME, nullable=False),
        sa.Column("renewed_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    """Drop the monitoring tables (APScheduler's job table is left alone)."""
    op.drop_table("daemon_leases")
    op.drop_index("ix_webhook_deliveries_due", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("schedule_runs")
    op.drop_table("schedules")
    op.drop_index("ix_feed_matches_entry_id", "feed_matches")
    op.drop_table("feed_matches")
    op.drop_table("feed_entries")
    op.drop_index("ix_feed_polls_feed_time", "feed_polls")
    op.drop_table("feed_polls")
    op.drop_table("feeds")
