"""Typed read queries. They return frozen records (``storage.records``), never ORM rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.canonical import url_key
from storage.errors import NoCaptureError
from storage.models import Capture, Extraction
from storage.records import CaptureRecord

__all__ = [
    "captures_by_ids",
    "closest_capture",
    "find_original",
    "iter_captures",
    "pending_extractions",
    "snapshots",
]

HTML_TYPES = ("text/html", "application/xhtml+xml")


def _base() -> Select[tuple[Capture, Extraction]]:
    return select(Capture, Extraction).outerjoin(Extraction, Extraction.capture_id == Capture.id)


def _record(row: Capture, ext: Extraction | None) -> CaptureRecord:
    return CaptureRecord(
        id=row.id, url=row.url, url_key=row.url_key, captured_at=row.captured_at,
        outcome=row.outcome, reason=row.reason, reason_detail=row.reason_detail,
        http_status=row.http_status, final_url=row.final_url,
        redirect_chain=list(row.redirect_chain or []), content_type=row.content_type,
        content_length=row.content_length, sha256=row.sha256, warc_file=row.warc_file,
        warc_offset=row.warc_offset, warc_length=row.warc_length,
        warc_record_id=row.warc_record_id, payload_file=row.payload_file,
        payload_offset=row.payload_offset, payload_length=row.payload_length,
        revisit_of=row.revisit_of, records=list(row.records or []), ip_address=row.ip_address,
        ignore_robots=bool(row.ignore_robots), allow_private=bool(row.allow_private),
        run_id=row.run_id,
        extraction_status=ext.status if ext else None,
        text_sha256=ext.text_sha256 if ext else None,
        title=ext.title if ext else None,
        published=ext.published if ext else None,
        text_file=ext.warc_file if ext else None,
        text_offset=ext.warc_offset if ext else None,
    )


def find_original(session: Session, key: str, sha256: str) -> Capture | None:
    """The earliest stored (non-revisit) response of ``key`` whose payload has this sha256."""
    stmt = (
        select(Capture)
        .where(Capture.url_key == key, Capture.sha256 == sha256, Capture.revisit_of.is_(None),
               Capture.payload_file.is_not(None))
        .order_by(Capture.captured_at, Capture.id)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def captures_by_ids(sessions: sessionmaker[Session], ids: Sequence[int]) -> list[CaptureRecord]:
    """Captures with these ids, in the order given."""
    if not ids:
        return []
    with sessions() as session:
        found = {row.id: _record(row, ext)
                 for row, ext in session.execute(_base().where(Capture.id.in_(list(ids))))}
    return [found[i] for i in ids]


def snapshots(sessions: sessionmaker[Session], url: str) -> list[CaptureRecord]:
    """Every capture of the URL's canonical key, oldest first."""
    stmt = _base().where(Capture.url_key == url_key(url)).order_by(Capture.captured_at, Capture.id)
    with sessions() as session:
        return [_record(row, ext) for row, ext in session.execute(stmt)]


def closest_capture(
    sessions: sessionmaker[Session], url: str, at: datetime | None = None, *,
    before: bool = False, only_captured: bool = True,
) -> CaptureRecord:
    """The capture of ``url`` closest to ``at`` (Memento semantics; ties go to the earlier one).

    ``at`` None means the latest. ``before`` restricts to captures at or before ``at``. With
    ``only_captured`` failed attempts are passed over. Raises NoCaptureError when none matches.
    """
    key = url_key(url)
    cond = [Capture.url_key == key]
    if only_captured:
        cond.append(Capture.outcome == "captured")
    with sessions() as session:
        if at is None:
            stmt = _base().where(*cond).order_by(Capture.captured_at.desc(), Capture.id.desc())
            candidates = list(session.execute(stmt.limit(1)))
        else:
            earlier = (_base().where(*cond, Capture.captured_at <= at)
                       .order_by(Capture.captured_at.desc(), Capture.id.desc()).limit(1))
            candidates = list(session.execute(earlier))
            if not before:
                later = (_base().where(*cond, Capture.captured_at > at)
                         .order_by(Capture.captured_at, Capture.id).limit(1))
                candidates += list(session.execute(later))
        if not candidates:
            when = f" at or before {at.isoformat()}" if before and at else ""
            raise NoCaptureError(f"no capture of {url}{when} in the archive")
        if at is None:
            row, ext = candidates[0]
        else:
            row, ext = min(candidates, key=lambda c: (abs((c[0].captured_at - at).total_seconds()),
                                                      c[0].captured_at))
        return _record(row, ext)


def pending_extractions(sessions: sessionmaker[Session], limit: int | None = None
                        ) -> list[CaptureRecord]:
    """Captured HTML responses that have no extraction row yet (e.g. after a crash)."""
    type_match = [func.lower(Capture.content_type).like(f"{t}%") for t in HTML_TYPES]
    stmt = (_base().where(Capture.outcome == "captured", Capture.payload_file.is_not(None),
                          Extraction.capture_id.is_(None), or_(*type_match))
            .order_by(Capture.id))
    if limit:
        stmt = stmt.limit(limit)
    with sessions() as session:
        return [_record(row, ext) for row, ext in session.execute(stmt)]


def iter_captures(sessions: sessionmaker[Session], batch: int = 1000) -> Iterator[CaptureRecord]:
    """Every capture, by id, fetched in batches."""
    last = 0
    while True:
        with sessions() as session:
            rows = list(session.execute(_base().where(Capture.id > last)
                                        .order_by(Capture.id).limit(batch)))
        if not rows:
            return
        for row, ext in rows:
            yield _record(row, ext)
        last = rows[-1][0].id
