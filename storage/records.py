"""Plain records that cross the storage boundary (frozen dataclasses, never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from storage.timefmt import iso_z

__all__ = [
    "PROBE",
    "Attachment",
    "CaptureInput",
    "CaptureMode",
    "CaptureRecord",
    "Exchange",
    "ExtractionInput",
    "RecordLocation",
]


PROBE = "probe"  # the purpose of a capture that is a check's soft-404 probe, not an archived page


@dataclass(frozen=True, kw_only=True)
class Exchange:
    """One HTTP request and its response as they went over the wire (one hop of a redirect chain)."""

    url: str
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    requested_at: datetime
    status: int | None = None  # None: no response was received
    protocol: str = "HTTP/1.1"
    reason_phrase: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""  # as received, before content-decoding
    ip_address: str | None = None
    truncated: str | None = None  # why the body is incomplete, if it is
    # the TLS record of an https response (spiders.tls.describe_tls: verified, detail, fingerprint,
    # subject, issuer, version, cipher, chain_length); None over http
    tls: dict[str, Any] | None = None
    proxy: str | None = None  # the proxy the request went through (no credentials)


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A record a capture made itself rather than received (a browser capture's screenshot, rendered
    DOM and page info): written as a WARC ``resource`` record under its own ``urn:`` URI, tied to the
    capture's final response by WARC-Concurrent-To, so that replay tools never take it for the page."""

    uri: str  # e.g. urn:screenshot:<url>, urn:dom:<url>, urn:pageinfo:<url>
    content_type: str
    body: bytes


@dataclass(frozen=True, kw_only=True)
class CaptureInput:
    """Everything needed to archive one fetch attempt."""

    url: str
    captured_at: datetime
    outcome: str  # captured | failed | skipped
    reason: str | None = None
    reason_detail: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    final_url: str | None = None
    redirect_chain: list[dict[str, Any]] = field(default_factory=list)
    ignore_robots: bool = False
    allow_private: bool = False
    user_agent: str | None = None
    run_id: str | None = None
    fetch_seconds: float | None = None
    context: dict[str, Any] = field(default_factory=dict)  # why it was fetched (citation, feed ...)
    mode: str | None = None  # "http" | "browser"; None is read as "http"
    mode_reason: str | None = None  # why that mode
    page_id: int | None = None  # the (already archived) page capture this requisite was loaded for
    attachments: list[Attachment] = field(default_factory=list)  # resource records of the capture

    @property
    def purpose(self) -> str | None:
        """``"probe"`` for a check's soft-404 probe (its context says ``probe``), None for a page."""
        return PROBE if self.context.get("probe") else None


@dataclass(frozen=True, kw_only=True)
class RecordLocation:
    """Where one WARC record is: file name (relative to the WARC directory), offset and length."""

    warc_file: str
    offset: int
    length: int
    record_type: str = ""
    record_id: str = ""
    target_uri: str = ""
    date: str = ""  # the record's WARC-Date
    block_digest: str = ""  # its WARC-Block-Digest (pinned by the capture's ledger entry)


@dataclass(frozen=True, kw_only=True)
class ExtractionInput:
    """The extracted text of one capture, ready to archive."""

    capture_id: int
    url: str
    status: str  # ok | empty | no-text | not-html | timeout | error | copied
    error: str | None = None
    extractor: str = "trafilatura"  # what made the text: trafilatura (HTML) or pypdf (PDF)
    text: str | None = None
    text_sha256: str | None = None
    title: str | None = None
    published: str | None = None
    language: str | None = None
    extracted_at: datetime
    refers_to: str | None = None  # WARC-Record-ID of the response record


@dataclass(frozen=True, kw_only=True)
class CaptureRecord:
    """One capture row, with its extraction when there is one."""

    id: int
    url: str
    url_key: str
    captured_at: datetime
    outcome: str
    reason: str | None
    reason_detail: str | None
    http_status: int | None
    final_url: str | None
    redirect_chain: list[dict[str, Any]]
    content_type: str | None
    content_length: int | None
    sha256: str | None
    warc_file: str | None
    warc_offset: int | None
    warc_length: int | None
    warc_record_id: str | None
    payload_file: str | None
    payload_offset: int | None
    payload_length: int | None
    revisit_of: int | None
    records: list[dict[str, Any]]
    ip_address: str | None
    ignore_robots: bool
    allow_private: bool
    run_id: str | None
    extraction_status: str | None = None
    text_sha256: str | None = None
    title: str | None = None
    published: str | None = None
    text_file: str | None = None
    text_offset: int | None = None
    # the final response's TLS evidence (None over http) and the proxy it came through (migration 0009)
    tls_verified: bool | None = None
    tls_fingerprint: str | None = None
    tls_issuer: str | None = None
    tls_detail: str | None = None
    proxy: str | None = None
    purpose: str | None = None  # "probe" for a check's soft-404 probe
    mode: str | None = None  # "http" | "browser" (None: an older row, fetched over HTTP)
    mode_reason: str | None = None
    page_id: int | None = None  # the page capture this requisite/sub-resource was loaded for

    @property
    def is_revisit(self) -> bool:
        """True when the payload is stored in an earlier capture's record."""
        return self.revisit_of is not None

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (field names are part of collector's contract)."""
        return {
            "id": self.id,
            "url": self.url,
            "url_key": self.url_key,
            "captured_at": iso_z(self.captured_at),
            "outcome": self.outcome,
            "reason": self.reason,
            "reason_detail": self.reason_detail,
            "http_status": self.http_status,
            "final_url": self.final_url,
            "redirect_chain": self.redirect_chain,
            "content_type": self.content_type,
            "content_length": self.content_length,
            "sha256": self.sha256,
            "text_sha256": self.text_sha256,
            "title": self.title,
            "published": self.published,
            "extraction": self.extraction_status,
            "warc_file": self.warc_file,
            "warc_offset": self.warc_offset,
            "warc_length": self.warc_length,
            "revisit_of": self.revisit_of,
            "ignore_robots": self.ignore_robots,
            "tls_verified": self.tls_verified,
            "tls_fingerprint": self.tls_fingerprint,
            "tls_issuer": self.tls_issuer,
            "tls_detail": self.tls_detail,
            "proxy": self.proxy,
            "purpose": self.purpose,
            "mode": self.mode or "http",
            "mode_reason": self.mode_reason,
            "page_id": self.page_id,
        }


@dataclass(frozen=True, kw_only=True)
class CaptureMode:
    """How a capture was fetched, with what choosing a check's baseline needs
    (``storage.queries.capture_modes_of``: a light row, no extraction)."""

    id: int
    captured_at: datetime
    outcome: str
    http_status: int | None
    mode: str  # "http" | "browser" | "media" (an older row: "http")
    page_id: int | None  # set for a requisite or a browser page's sub-resource


@dataclass(frozen=True, kw_only=True)
class CitationData:
    """One citation as parsed from a report version (input and output of storage.reports)."""

    ref: str
    kind: str
    raw: str = ""
    authors: tuple[str, ...] = ()
    title: str | None = None
    publisher: str | None = None
    date: str | None = None
    date_iso: str | None = None
    pages: str | None = None
    urls: tuple[str, ...] = ()
    ibid_of: str | None = None
    anchor_text: str | None = None
    context: str | None = None
    quotes: tuple[str, ...] = ()
    in_body: bool = True
    has_entry: bool = True
    needs_url: bool = False


@dataclass(frozen=True, kw_only=True)
class LinkData:
    """A URL, quote or note attached to a report's reference by hand or by manifest."""

    ref: str
    url: str | None = None
    quote: str | None = None
    note: str | None = None
    source: str = "cli"
    added_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ReportVersionRecord:
    """One stored version of a report."""

    report: str
    version: int
    id: int
    added_at: datetime
    source: str
    source_url: str | None
    format: str
    title: str | None
    sha256: str
    size: int
    capture_id: int | None
    warnings: list[str]
    citation_count: int = 0
    doc_warc_file: str | None = None
    doc_warc_offset: int | None = None


@dataclass(frozen=True, kw_only=True)
class CheckRecord:
    """One stored check (also the input of storage.checks.add_checks, with id 0)."""

    id: int = 0
    url: str
    checked_at: datetime
    capture_id: int | None
    baseline_id: int | None
    probe_id: int | None = None
    status: str
    similarity: float | None = None
    redirected: bool = False
    http_status: int | None = None
    final_url: str | None = None
    sha256: str | None = None
    text_sha256: str | None = None
    signals: tuple[str, ...] = ()
    quotes: tuple[dict[str, Any], ...] = ()
    report: str | None = None
    ref: str | None = None
    raw_status: str | None = None  # the verdict on the raw texts, when ignore rules removed something
    raw_similarity: float | None = None
    ignored_rules: tuple[int, ...] = ()  # ids of the ignore rules that removed something

    def to_json(self) -> dict[str, Any]:
        """Every field as plain JSON: ``checked_at`` in ISO-8601 with ``Z``, tuples as lists."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update(checked_at=iso_z(self.checked_at), signals=list(self.signals), quotes=list(self.quotes),
                    ignored_rules=list(self.ignored_rules))
        return data
