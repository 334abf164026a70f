"""Archiving a media download (a video or audio file yt-dlp fetched): a ``resource`` record under the
media's own URL, a ``metadata`` record beside it holding the downloader's info JSON and the outcome, and
one captures row (``mode`` "media", ``page_id`` the page that embeds it). A download that failed or
went over a limit is the same row with outcome ``failed`` and its reason, and the metadata record only.

The records are flushed and fsynced before the row commits, as for every capture.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from storage import queries
from storage.archive import Archive
from storage.canonical import url_key
from storage.models import Capture
from storage.records import CaptureRecord, RecordLocation
from storage.warcfile import CAPTURE_URN, digest_label, metadata_uri, short_record_id, warc_date

__all__ = ["MediaInput", "commit_media"]

_CHUNK = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class MediaInput:
    """One media download attempt."""

    url: str  # the media's own URL (the direct file, or the manifest of a stream)
    captured_at: datetime
    outcome: str  # "captured" | "failed"
    reason: str | None = None  # "too-large", "private-address", "media-error" ...
    reason_detail: str | None = None
    body: Path | None = None  # the downloaded file (captured only)
    content_type: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # yt-dlp's info JSON (what it is, where from)
    page_id: int | None = None  # the page capture that embeds or cites it
    mode_reason: str | None = None  # why it was downloaded ("<video> on the page", "--media" ...)
    allow_private: bool = False
    user_agent: str | None = None
    run_id: str | None = None
    fetch_seconds: float | None = None


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _entry(loc: RecordLocation, main: RecordLocation, url: str) -> list[Any]:
    extra: dict[str, Any] = {} if loc.warc_file == main.warc_file else {"file": loc.warc_file}
    if loc.target_uri != url:
        extra["uri"] = loc.target_uri
    rid = None if loc is main else short_record_id(loc.record_id)
    return [loc.record_type, loc.offset, loc.length, rid, *([extra] if extra else [])]


def _page_record(archive: Archive, page_id: int | None) -> str | None:
    """The WARC-Record-ID of the main record of the page capture ``page_id`` (None: none)."""
    if page_id is None:
        return None
    with archive.sessions() as session:
        return session.scalar(select(Capture.warc_record_id).where(Capture.id == page_id))


def commit_media(archive: Archive, item: MediaInput) -> CaptureRecord:
    """Write the media's records, then commit its row; the committed record."""
    writer = archive.writer
    page_record = _page_record(archive, item.page_id)
    sha_hex, size = _sha256(item.body) if item.body is not None else (None, None)
    resource: RecordLocation | None = None
    if item.body is not None and item.outcome == "captured":
        with open(item.body, "rb") as fh:
            resource = writer.write_resource_stream(
                item.url, fh, size or 0, content_type=item.content_type or "application/octet-stream",
                moment=item.captured_at, payload_digest=digest_label(bytes.fromhex(sha_hex or "")))
    meta = writer.write_metadata(
        metadata_uri(CAPTURE_URN, item.url),
        {"url": item.url, "outcome": item.outcome, "reason": item.reason,
         "reason_detail": item.reason_detail, "captured_at": warc_date(item.captured_at),
         "sha256": sha_hex, "allow_private": item.allow_private, "mode": "media",
         "mode_reason": item.mode_reason, "media": item.info,
         # the page's own record: the link storage.reindex makes again (row ids are new there)
         **({"page_id": item.page_id, "page_record": page_record} if page_record else {})},
        moment=item.captured_at, refers_to=resource.record_id if resource else None,
        concurrent_to=resource.record_id if resource else None)
    writer.sync()
    main = resource or meta
    key = url_key(item.url)
    row: dict[str, Any] = {
        "url": item.url, "url_key": key, "captured_at": item.captured_at.astimezone(UTC),
        "outcome": item.outcome, "reason": item.reason, "reason_detail": item.reason_detail,
        "http_status": None, "final_url": item.url, "final_url_key": None, "redirect_chain": [],
        "content_type": item.content_type if resource else None,
        "content_length": size if resource else None, "sha256": sha_hex if resource else None,
        "warc_file": main.warc_file, "warc_offset": main.offset, "warc_length": main.length,
        "warc_record_id": main.record_id,
        "payload_file": resource.warc_file if resource else None,
        "payload_offset": resource.offset if resource else None,
        "payload_length": resource.length if resource else None,
        "revisit_of": None,
        "records": [_entry(loc, main, item.url) for loc in (resource, meta) if loc is not None],
        "ip_address": None, "ignore_robots": False, "allow_private": item.allow_private,
        "user_agent": archive.row_user_agent(item.user_agent), "run_id": item.run_id,
        "fetch_seconds": item.fetch_seconds,
        "purpose": None, "mode": "media", "mode_reason": item.mode_reason, "page_id": item.page_id,
        "tls_verified": None, "tls_fingerprint": None, "tls_issuer": None, "tls_detail": None,
        "proxy": None,
    }
    with archive.sessions() as session, session.begin():
        [new_id] = archive._insert_rows(session, [row], {})
        pinned: list[str | None] = [loc.block_digest or None for loc in (resource, meta) if loc is not None]
        archive._append_ledger(session, [row], [new_id], [pinned])
    return queries.capture_record(SimpleNamespace(**row, id=new_id), None)
