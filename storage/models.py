"""ORM models: the metadata index over the WARC files. ORM rows never leave ``storage``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Capture", "Extraction", "UTCDateTime"]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes with microseconds, stored the same way on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC was expected")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of collector's tables."""


class Capture(Base):
    """One fetch attempt of one URL, successful or not."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)  # as given
    url_key: Mapped[str] = mapped_column(Text)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # captured | failed | skipped
    reason: Mapped[str | None] = mapped_column(String(64))
    reason_detail: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    final_url_key: Mapped[str | None] = mapped_column(Text)
    redirect_chain: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content_type: Mapped[str | None] = mapped_column(String(255))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # where the response (or revisit) record of the final hop is
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    warc_record_id: Mapped[str | None] = mapped_column(String(64))
    # where the payload bytes are (differs from the above for a revisit)
    payload_file: Mapped[str | None] = mapped_column(Text)
    payload_offset: Mapped[int | None] = mapped_column(BigInteger)
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    revisit_of: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # every record written
    ip_address: Mapped[str | None] = mapped_column(String(64))
    ignore_robots: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    fetch_seconds: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_captures_key_time", "url_key", "captured_at"),
        Index("ix_captures_key_sha", "url_key", "sha256"),
        Index("ix_captures_time", "captured_at"),
    )


class Extraction(Base):
    """Main text, title and date extracted from one capture's payload (one row per capture)."""

    __tablename__ = "extractions"

    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # ok | empty | not-html | timeout | error
    error: Mapped[str | None] = mapped_column(Text)
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    text_length: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    extracted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
