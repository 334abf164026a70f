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

__all__ = ["Base", "Capture", "Check", "Citation", "CitationLink", "Extraction", "Report", "ReportVersion",
           "UTCDateTime"]


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


class Report(Base):
    """A report (paper, article) whose citations collector preserves."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportVersion(Base):
    """One version of a report's document, as it was added."""

    __tablename__ = "report_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(Text)  # path or URL as given
    source_url: Mapped[str | None] = mapped_column(Text)  # when the report is a web page
    format: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))  # of the document bytes
    size: Mapped[int] = mapped_column(BigInteger)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    # a report file is archived as a WARC resource record
    doc_warc_file: Mapped[str | None] = mapped_column(Text)
    doc_warc_offset: Mapped[int | None] = mapped_column(BigInteger)


class Citation(Base):
    """One citation of one report version (rows are never updated; a new version adds rows)."""

    __tablename__ = "citations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    raw: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str | None] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(64))
    date_iso: Mapped[str | None] = mapped_column(String(10))
    pages: Mapped[str | None] = mapped_column(String(64))
    urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    ibid_of: Mapped[str | None] = mapped_column(String(64))
    anchor_text: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)
    quotes: Mapped[list[str]] = mapped_column(JSON, default=list)
    in_body: Mapped[bool] = mapped_column(Boolean, default=True)
    has_entry: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_url: Mapped[bool] = mapped_column(Boolean, default=False)


class CitationLink(Base):
    """A URL (and optional quote or note) attached by hand or by manifest to a report's reference."""

    __tablename__ = "citation_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    ref: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    quote: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))  # "manifest FILE:LINE" or "cli"
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Check(Base):
    """One check of a source: a new capture compared with a baseline capture, and the verdict."""

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    baseline_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    probe_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    status: Mapped[str] = mapped_column(String(16))
    similarity: Mapped[float | None] = mapped_column(Float)
    redirected: Mapped[bool] = mapped_column(Boolean, default=False)
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    quotes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    report: Mapped[str | None] = mapped_column(String(200))
    ref: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_checks_key_time", "url_key", "checked_at"),)
