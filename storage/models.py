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
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["EXTRACTION_PENDING", "Base", "Capture", "CaptureHop", "Check", "Citation", "CitationLink",
           "Extraction", "IgnoreRule", "Job", "JobItem", "LedgerCheckpoint", "LedgerEntry", "Report",
           "ReportVersion",
           "UTCDateTime"]

#: the extraction status of a capture archived without extraction (``capture --no-extract``)
EXTRACTION_PENDING = "pending"


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
    # None (issue 18) when it is url_key (readers take coalesce(final_url_key, url_key))
    final_url_key: Mapped[str | None] = mapped_column(Text)
    # null (issue 18) for a fetch that was not redirected: [{"url": final_url, "status": http_status}]
    # (storage.hops.stored_chain, chain_of)
    redirect_chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    content_type: Mapped[str | None] = mapped_column(String(255))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # where the response (or revisit) record of the final hop is
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    warc_record_id: Mapped[str | None] = mapped_column(String(255))  # 64 before migration 0011
    # where the payload bytes are (differs from the above for a revisit)
    payload_file: Mapped[str | None] = mapped_column(Text)
    payload_offset: Mapped[int | None] = mapped_column(BigInteger)
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    revisit_of: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # every record written
    ip_address: Mapped[str | None] = mapped_column(String(64))
    ignore_robots: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    # None on rows written since issue 18 when it is the User-Agent the warcinfo record of the row's
    # WARC records names (http-header-user-agent; Archive.row_user_agent)
    user_agent: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    fetch_seconds: Mapped[float | None] = mapped_column(Float)
    # the final response's TLS evidence (None over http) and the proxy used (migration 0009)
    tls_verified: Mapped[bool | None] = mapped_column(Boolean)
    tls_fingerprint: Mapped[str | None] = mapped_column(String(64))  # the leaf's SHA-256, hex
    tls_issuer: Mapped[str | None] = mapped_column(Text)
    tls_detail: Mapped[str | None] = mapped_column(Text)  # "verified" | "untrusted: <why>"
    proxy: Mapped[str | None] = mapped_column(Text)  # credentials stripped
    # why it was fetched when that is not to archive a page (migration 0010): "probe" for a check's
    # soft-404 probe, kept out of lists, counts, TimeMaps, CDX and search; None for a page capture
    purpose: Mapped[str | None] = mapped_column(String(16))
    # how it was fetched (migration 0013): "http" (None on older rows) or "browser", and why that mode
    # ("--browser", "browser_hosts", "js-shell: <signal>", "baseline mode" ...)
    mode: Mapped[str | None] = mapped_column(String(16))
    mode_reason: Mapped[str | None] = mapped_column(Text)
    # the page capture this one was loaded for (a page requisite or a browser sub-resource), None for a page
    page_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))

    __table_args__ = (
        Index("ix_captures_key_time", "url_key", "captured_at"),
        # only payloads a revisit can point at (migration 0006)
        Index("ix_captures_key_sha", "url_key", "sha256",
              sqlite_where=text("revisit_of IS NULL AND payload_file IS NOT NULL"),
              postgresql_where=text("revisit_of IS NULL AND payload_file IS NOT NULL")),
        Index("ix_captures_time", "captured_at"),
        Index("ix_captures_record_id", "warc_record_id"),  # import's "already indexed" (0011)
        Index("ix_captures_page", "page_id"),  # a page's requisites and sub-resources (0013)
    )


class CaptureHop(Base):
    """One hop of a redirect chain that is a memento of its own URL (migration 0008).

    A captured fetch that was redirected is one ``captures`` row, but each URL it went through answered
    something of its own: ``http://a/`` a 302, ``https://b/`` the page. The row stands for its final
    response under its own key only when the chain ended at that key; every other hop that is a memento
    (``storage.hops``: the last hop of each run of hops sharing a canonical key) is a row here, so
    TimeGates and TimeMaps of each URL on the chain find it.
    """

    __tablename__ = "capture_hops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    position: Mapped[int] = mapped_column(Integer)  # index of the hop in the chain (0: the URL asked)
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(Text)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the hop's WARC-Date
    http_status: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(255))
    target_url: Mapped[str | None] = mapped_column(Text)  # the next memento's URL (a redirect's target)
    target_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warc_file: Mapped[str | None] = mapped_column(Text)  # the hop's response record
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_capture_hops_key_time", "url_key", "captured_at"),)


class Extraction(Base):
    """Main text, title and date extracted from one capture's payload (one row per capture)."""

    __tablename__ = "extractions"

    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), primary_key=True)
    # ok | empty | no-text | not-html | too-large | timeout | error; pending: archived without extraction
    # (capture --no-extract), to be extracted by `collector extract --pending`
    status: Mapped[str] = mapped_column(String(16))
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
    # ignore rules (issue 17, migration 0021): status/similarity above are of the filtered texts; the
    # comparison of the raw texts is kept here when a rule removed something, with the rules' ids
    raw_status: Mapped[str | None] = mapped_column(String(16))
    raw_similarity: Mapped[float | None] = mapped_column(Float)
    ignored_rules: Mapped[list[int] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_checks_key_time", "url_key", "checked_at"),)


class IgnoreRule(Base):
    """A CSS selector, XPath or regular expression whose matches a check leaves out of the text comparison
    (issue 17): for one source (``scope`` url, ``target`` the URL; it applies to every URL of the same
    canonical key), one report (``target`` its name) or every check (``global``)."""

    __tablename__ = "ignore_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # url | report | global
    target: Mapped[str | None] = mapped_column(Text)  # URL, report name, None for global
    kind: Mapped[str] = mapped_column(String(16))  # css | xpath | regex
    pattern: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_ignore_rules_scope", "scope", "target"),)


class SearchDocument(Base):
    """One distinct extracted text of a URL, indexed for full-text search (issue 6).

    The full-text index itself is dialect-specific and not mapped here: an FTS5 table ``search_fts``
    on SQLite, a generated ``tsv`` column on PostgreSQL (see migration 0004).
    """

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))  # first capture with this text
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text_sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)  # on SQLite a zlib BLOB (storage.packedtext, 0022)

    __table_args__ = (
        Index("ix_search_documents_host", "host"),
        Index("ix_search_documents_time", "captured_at"),
        Index("uq_search_documents_key_text", "url_key", "text_sha256", unique=True),
    )


class ApiToken(Base):
    """A bearer token for the HTTP server's write endpoints; only its sha256 is stored (issue 6)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- monitoring (issue 5): feeds, schedules, webhooks, the daemon lease ---------------------------

__all__ += ["DaemonLease", "Feed", "FeedEntry", "FeedMatch", "FeedPoll", "Schedule", "ScheduleRun",
            "Webhook", "WebhookDelivery"]


class Feed(Base):
    """A watched RSS/Atom feed, its conditional-GET validators, polling interval and health."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    capture_all: Mapped[bool] = mapped_column(Boolean, default=False)
    match_text: Mapped[bool] = mapped_column(Boolean, default=True)  # fetch articles to match their text
    base_interval: Mapped[float] = mapped_column(Float)  # seconds, as given with --every
    interval: Mapped[float] = mapped_column(Float)  # seconds, adapted after every poll
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_entry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    warning: Mapped[str | None] = mapped_column(Text)  # the last parse warning (bozo feed)
    warning_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedPoll(Base):
    """One poll of a feed: the capture of the feed document and what came of it."""

    __tablename__ = "feed_polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    polled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # fetched | not-modified | failed | refused
    new_entries: Mapped[int] = mapped_column(Integer, default=0)
    interval: Mapped[float] = mapped_column(Float)
    warning: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_feed_polls_feed_time", "feed_id", "polled_at"),)


class FeedEntry(Base):
    """A new entry of a feed, deduplicated by GUID, canonical link, then normalized title and day."""

    __tablename__ = "feed_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    guid: Mapped[str | None] = mapped_column(Text)
    guid_key: Mapped[str | None] = mapped_column(String(64))
    link: Mapped[str | None] = mapped_column(Text)
    link_key: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    title_key: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    feed_capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))  # the article
    capture_outcome: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("feed_id", "guid_key", name="uq_feed_entries_guid"),
        UniqueConstraint("feed_id", "link_key", name="uq_feed_entries_link"),
        UniqueConstraint("feed_id", "title_key", name="uq_feed_entries_title"),
    )


class FeedMatch(Base):
    """A keyword that matched a feed entry, and where (title, summary, content or text)."""

    __tablename__ = "feed_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("feed_entries.id"), index=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    keyword: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(16))
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Schedule(Base):
    """A recurring capture or check; its trigger lives in APScheduler's job store (``job_id``)."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # urls | report | feed
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)  # URLs, or [report] / [feed]
    action: Mapped[str] = mapped_column(String(8))  # capture | check
    every_seconds: Mapped[float | None] = mapped_column(Float)
    cron: Mapped[str | None] = mapped_column(String(100))
    adaptive: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the login profile its captures and checks go through (migration 0029; NULL: none)
    profile: Mapped[str | None] = mapped_column(String(64))


class ScheduleRun(Base):
    """One run of a scheduled job; (job_id, scheduled_for) is unique, so no slot ever runs twice."""

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64))
    schedule_id: Mapped[int | None] = mapped_column(Integer)  # kept when the schedule is removed
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed
    holder: Mapped[str] = mapped_column(String(200))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("job_id", "scheduled_for", name="uq_schedule_runs_slot"),)


class Webhook(Base):
    """A URL that is told about the events it subscribed to: an http(s) URL gets a JSON POST, any other
    URL is an Apprise URL (mailto://, slack://, matrix://, tgram://, ntfy:// ...) sent a message."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_check_id: Mapped[int] = mapped_column(Integer, default=0)  # checks seen up to this id
    last_match_id: Mapped[int] = mapped_column(Integer, default=0)  # feed matches seen up to this id
    # issue 17 (migration 0021): added from the notify_urls setting (kept in step with it), not by hand
    from_config: Mapped[bool | None] = mapped_column(Boolean, default=False)


class WebhookDelivery(Base):
    """One event to POST to one webhook, with its attempts (kept when delivered or given up)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(Integer, index=True)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)


class DaemonLease(Base):
    """The lease that lets exactly one ``collector run`` daemon run jobs on a database."""

    __tablename__ = "daemon_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One entry of the append-only capture ledger (migration 0012; see ``storage.ledger``)."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # capture | text
    row_id: Mapped[int] = mapped_column(BigInteger)  # the id of the row it covers (no foreign key:
    # a deleted row must leave its entry behind, as evidence that it was deleted)
    body: Mapped[str] = mapped_column(Text)  # the canonical serialization the hash is over
    hash: Mapped[str] = mapped_column(String(64))  # sha256 of body, hex

    __table_args__ = (Index("ix_ledger_entries_kind_row", "kind", "row_id"),)


class LedgerCheckpoint(Base):
    """The Merkle tree's size and root over the ledger at one moment, signed when the archive has a key
    (migration 0012)."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    statement: Mapped[str] = mapped_column(Text)  # the canonical statement signed
    signature: Mapped[str | None] = mapped_column(Text)  # Ed25519, hex; None: unsigned
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    public_key: Mapped[str | None] = mapped_column(String(64))  # raw Ed25519 public key, hex
    # the roots of the tree's perfect subtrees at this size ([[width, hex], ...], largest first): the
    # next checkpoint continues from them
    frontier: Mapped[str | None] = mapped_column(Text)
    # RFC 3161 timestamp of the statement (migration 0016): the TSA's response (DER), its genTime, the
    # TSA's URL; None: not (yet) timestamped
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    tsa_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tsa_url: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """One enqueue of work for the capture workers (``collector capture --queue``; migration 0018)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # capture | check
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(Text)  # what enqueued it (a report, a schedule ...)
    # a check job (migration 0027): its targets, baseline and probes; fetching | probing | judged
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stage: Mapped[str | None] = mapped_column(String(16))


class JobItem(Base):
    """One URL of a job: queued -> claimed by a worker until ``lease_until`` -> done / failed with the
    capture row that answered it (migration 0018). ``attempt`` grows each time the reaper re-enqueues
    it after a lease expired."""

    __tablename__ = "job_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(Integer, ForeignKey("jobs.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # queued | claimed | done | failed
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    worker: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capture_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(16))
    verdicts: Mapped[list[Any] | None] = mapped_column(JSON)  # a check job's lines for it (0027)

    __table_args__ = (Index("ix_job_items_status_lease", "status", "lease_until"),)
