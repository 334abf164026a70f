"""The archive: WARC files plus the metadata rows that point into them, written in one crash-safe step.

Every ``commit_*`` call writes WARC records first, fsyncs the file, and only then commits the rows that
point at those records, so a committed row never points at data that is not on disk.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import queries
from storage.canonical import url_key
from storage.database import connect
from storage.models import Capture, Extraction
from storage.records import (
    CaptureInput,
    CaptureRecord,
    Exchange,
    ExtractionInput,
    RecordLocation,
)
from storage.warcfile import WarcFileWriter, new_record_id, warc_date
from storage.warcread import read_record_at

__all__ = ["Archive", "payload_digest"]

def payload_digest(body: bytes) -> tuple[str, str]:
    """(hex sha256, WARC ``sha256:BASE32`` label) of a payload."""
    digest = hashlib.sha256(body).digest()
    return digest.hex(), "sha256:" + base64.b32encode(digest).decode("ascii")


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


def _loc_json(loc: RecordLocation) -> dict[str, Any]:
    return {"type": loc.record_type, "uri": loc.target_uri, "file": loc.warc_file,
            "offset": loc.offset, "length": loc.length, "id": loc.record_id, "date": loc.date}


class Archive:
    """A WARC directory and a metadata database, used together."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        warc_dir: Path,
        *,
        warc_max_bytes: int = 1024**3,
        software: str = "collector",
        clock: Callable[[], datetime] | None = None,
        record_id: Callable[[], str] = new_record_id,
    ) -> None:
        self.sessions = sessions
        self.warc_dir = Path(warc_dir)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._writer_args: dict[str, Any] = {
            "max_bytes": warc_max_bytes, "software": software, "clock": self.clock,
            "record_id": record_id,
        }
        self._writer: WarcFileWriter | None = None

    @classmethod
    def open(cls, database_url: str, warc_dir: Path, **kwargs: Any) -> Archive:
        """Open (and migrate) the database at ``database_url`` with WARCs under ``warc_dir``."""
        return cls(connect(database_url), warc_dir, **kwargs)

    @property
    def writer(self) -> WarcFileWriter:
        """The WARC writer of this archive (a new file is started on first write)."""
        if self._writer is None:
            self._writer = WarcFileWriter(self.warc_dir, **self._writer_args)
        return self._writer

    def close(self) -> None:
        """Close the current WARC file and the database pool."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.sessions.kw["bind"].dispose()

    # -- writing captures ----------------------------------------------------------------------
    def commit_captures(self, inputs: Sequence[CaptureInput]) -> list[CaptureRecord]:
        """Archive a batch of fetch attempts: WARC records, fsync, then one transaction of rows."""
        with self.sessions() as session, session.begin():
            rows = [self._write_capture(session, item) for item in inputs]
            self.writer.sync()
            session.flush()
            ids = [row.id for row in rows]
        return queries.captures_by_ids(self.sessions, ids)

    def _write_capture(self, session: Session, item: CaptureInput) -> Capture:
        key = url_key(item.url)
        writer = self.writer
        locations: list[RecordLocation] = []
        main: RecordLocation | None = None
        payload_at: RecordLocation | None = None
        revisit_row: Capture | None = None
        final: Exchange | None = None
        sha_hex: str | None = None
        for index, exchange in enumerate(item.exchanges):
            last = index == len(item.exchanges) - 1
            original = None
            digest_label = None
            if last and exchange.status is not None:
                final = exchange
                sha_hex, digest_label = payload_digest(exchange.body)
                if exchange.body and not exchange.truncated:
                    original = queries.find_original(session, key, sha_hex)
            if original is not None and original.payload_file is not None:
                ref = _payload_location(self.warc_dir, original)
                response, request = writer.write_exchange(
                    exchange, revisit_of=ref, revisit_date=ref.date, payload_digest=digest_label,
                )
                revisit_row = original
                payload_at = ref
            else:
                response, request = writer.write_exchange(exchange)
                if last and response is not None:
                    payload_at = response
            if response is not None:
                locations.append(response)
                if last:
                    main = response
            locations.append(request)
        headers = final.response_headers if final else []
        meta_content: dict[str, Any] = {
            "url": item.url, "outcome": item.outcome, "reason": item.reason,
            "reason_detail": item.reason_detail, "final_url": item.final_url,
            "redirect_chain": item.redirect_chain, "ignore_robots": item.ignore_robots,
            "allow_private": item.allow_private, "captured_at": warc_date(item.captured_at),
            "sha256": sha_hex, **({"context": item.context} if item.context else {}),
        }
        meta = writer.write_metadata(item.final_url or item.url, meta_content,
                                     moment=item.captured_at,
                                     refers_to=main.record_id if main else None)
        locations.append(meta)
        row = Capture(
            url=item.url, url_key=key, captured_at=item.captured_at, outcome=item.outcome,
            reason=item.reason, reason_detail=item.reason_detail,
            http_status=final.status if final else None,
            final_url=item.final_url, final_url_key=url_key(item.final_url) if item.final_url else None,
            redirect_chain=item.redirect_chain,
            content_type=_header(headers, "Content-Type"),
            content_length=len(final.body) if final else None,
            sha256=sha_hex,
            warc_file=main.warc_file if main else meta.warc_file,
            warc_offset=main.offset if main else meta.offset,
            warc_length=main.length if main else meta.length,
            warc_record_id=main.record_id if main else meta.record_id,
            payload_file=payload_at.warc_file if payload_at else None,
            payload_offset=payload_at.offset if payload_at else None,
            payload_length=payload_at.length if payload_at else None,
            revisit_of=revisit_row.id if revisit_row else None,
            records=[_loc_json(loc) for loc in locations],
            ip_address=final.ip_address if final else None,
            ignore_robots=item.ignore_robots, allow_private=item.allow_private,
            user_agent=item.user_agent, run_id=item.run_id, fetch_seconds=item.fetch_seconds,
        )
        session.add(row)
        session.flush()
        if revisit_row is not None:
            _copy_extraction(session, revisit_row, row, self.clock())
        return row

    def store_document(self, uri: str, data: bytes, content_type: str) -> RecordLocation:
        """Archive a document that was not fetched (a report file) as a WARC resource record."""
        location = self.writer.write_resource(uri, data, content_type=content_type,
                                              moment=self.clock())
        self.writer.sync()
        return location

    # -- writing extractions -------------------------------------------------------------------
    def commit_extractions(self, inputs: Sequence[ExtractionInput]) -> None:
        """Archive extracted texts as WARC metadata records, fsync, then commit their rows."""
        with self.sessions() as session, session.begin():
            for item in inputs:
                if session.get(Extraction, item.capture_id) is not None:
                    continue  # already extracted (a crashed run's work was finished elsewhere)
                loc = None
                if item.status == "ok":
                    content = {"type": "extracted-text", "extractor": "trafilatura",
                               "title": item.title, "published": item.published,
                               "language": item.language, "text_sha256": item.text_sha256,
                               "text": item.text}
                    loc = self.writer.write_metadata(item.url, content, moment=item.extracted_at,
                                                     refers_to=item.refers_to)
                session.add(Extraction(
                    capture_id=item.capture_id, status=item.status, error=item.error,
                    text_sha256=item.text_sha256,
                    text_length=len(item.text) if item.text is not None else None,
                    title=item.title, published=item.published, language=item.language,
                    extracted_at=item.extracted_at,
                    warc_file=loc.warc_file if loc else None,
                    warc_offset=loc.offset if loc else None,
                    warc_length=loc.length if loc else None,
                ))
            from storage.search import index_texts  # full-text index, same transaction (issue 6)

            index_texts(session, inputs)
            self.writer.sync()


def _payload_location(warc_dir: Path, row: Capture) -> RecordLocation:
    """Where ``row``'s payload record is, with its WARC-Record-ID, WARC-Date and target URI."""
    for rec in row.records or []:
        same = rec.get("file") == row.payload_file and rec.get("offset") == row.payload_offset
        if same and rec.get("date") and rec.get("id"):
            return RecordLocation(warc_file=rec["file"], offset=rec["offset"],
                                  length=rec["length"], record_type="response",
                                  record_id=rec["id"], target_uri=rec.get("uri") or row.url,
                                  date=rec["date"])
    # rows written before dates were kept: read the record's own headers
    record = read_record_at(warc_dir, row.payload_file or "", row.payload_offset or 0)
    return RecordLocation(
        warc_file=row.payload_file or "", offset=row.payload_offset or 0,
        length=row.payload_length or 0, record_type="response",
        record_id=record.headers.get("WARC-Record-ID", ""),
        target_uri=record.headers.get("WARC-Target-URI") or row.final_url or row.url,
        date=record.headers.get("WARC-Date", ""),
    )


def _copy_extraction(session: Session, original: Capture, row: Capture, now: datetime) -> None:
    source_id = original.id
    found = session.execute(
        select(Extraction).where(Extraction.capture_id == source_id)
    ).scalar_one_or_none()
    if found is None or found.status != "ok":
        return
    session.add(Extraction(
        capture_id=row.id, status="ok", error=None, text_sha256=found.text_sha256,
        text_length=found.text_length, title=found.title, published=found.published,
        language=found.language, extracted_at=now, warc_file=found.warc_file,
        warc_offset=found.warc_offset, warc_length=found.warc_length,
    ))
