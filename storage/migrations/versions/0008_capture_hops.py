"""Redirect hops as mementos of their own URLs: the ``capture_hops`` table (issue 13).

Each hop of a captured redirect chain that is a memento of another canonical key than the capture's
final one gets a row (``storage.hops``); existing captures are indexed from their rows' ``records`` and
``redirect_chain`` (the WARC files are not read: a backfilled redirect hop has no sha256 or
Content-Type, which the replay reads from its record anyway).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.hops import Hop, hop_rows

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _date(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _hops(row: Any) -> list[Hop]:
    """The answered hops of a captures row, from its compact ``records`` and ``redirect_chain``."""
    captured_at = row.captured_at if isinstance(row.captured_at, datetime) else datetime.fromisoformat(
        row.captured_at)
    captured_at = captured_at.replace(tzinfo=UTC)
    chain = row.redirect_chain or []
    responses = [r for r in row.records or [] if (r[0] if isinstance(r, list) else r.get("type"))
                 in ("response", "revisit")]
    if len(chain) < 2 or len(responses) != len(chain):
        return []
    hops = []
    for index, (entry, link) in enumerate(zip(responses, chain, strict=True)):
        if isinstance(entry, dict):
            file, offset, length, extra = entry.get("file"), entry.get("offset"), entry.get("length"), entry
        else:
            _, offset, length, _, *rest = entry
            extra = rest[0] if rest else {}
            file = extra.get("file") or row.warc_file
        last = index == len(chain) - 1
        at = captured_at if last else _date(extra.get("date"), captured_at)
        hops.append(Hop(url=link["url"], at=at,
                        status=link.get("status"), warc_file=file, warc_offset=offset, warc_length=length,
                        sha256=row.sha256 if last else None,
                        content_type=row.content_type if last else None))
    return hops


def upgrade() -> None:
    """Create capture_hops and index the redirect chains of existing captured rows."""
    if sa.inspect(op.get_bind()).has_table("capture_hops"):
        return  # already made (a version stamped back by hand)
    op.create_table(
        "capture_hops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("sha256", sa.String(64)),
        sa.Column("content_type", sa.String(255)),
        sa.Column("target_url", sa.Text),
        sa.Column("target_at", sa.DateTime(timezone=False)),
        sa.Column("warc_file", sa.Text),
        sa.Column("warc_offset", sa.BigInteger),
        sa.Column("warc_length", sa.BigInteger),
    )
    op.create_index("ix_capture_hops_key_time", "capture_hops", ["url_key", "captured_at"])
    bind = op.get_bind()
    captures = sa.table("captures", *(sa.column(n) for n in (
        "id", "url_key", "captured_at", "outcome", "warc_file", "sha256", "content_type")),
        sa.column("records", sa.JSON), sa.column("redirect_chain", sa.JSON))
    hops_table = sa.table("capture_hops", *(sa.column(n) for n in (
        "capture_id", "position", "url", "url_key", "captured_at", "http_status", "sha256", "content_type",
        "target_url", "target_at", "warc_file", "warc_offset", "warc_length")))
    last = 0
    while True:
        rows = bind.execute(sa.select(captures).where(captures.c.id > last, captures.c.outcome == "captured")
                            .order_by(captures.c.id).limit(2000)).all()
        if not rows:
            return
        values = []
        for row in rows:
            for hop in hop_rows(row.url_key, _hops(row)):
                values.append({**hop, "capture_id": row.id,
                               "captured_at": hop["captured_at"].astimezone(UTC).replace(tzinfo=None),
                               "target_at": (hop["target_at"].astimezone(UTC).replace(tzinfo=None)
                                             if hop["target_at"] else None)})
        if values:
            bind.execute(sa.insert(hops_table), values)
        last = rows[-1].id


def downgrade() -> None:
    """Drop capture_hops."""
    op.drop_index("ix_capture_hops_key_time", table_name="capture_hops")
    op.drop_table("capture_hops")
