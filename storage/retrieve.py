"""Getting archived bytes back: payload, headers, extracted text, or the capture's WARC records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from storage.errors import ArchiveCorruptError, NoCaptureError
from storage.records import CaptureRecord
from storage.warcread import WarcRecord, _safe_path, read_record_at

__all__ = ["capture_headers", "capture_payload", "capture_text", "capture_warc"]


def capture_payload(warc_dir: Path, capture: CaptureRecord, *, check: bool = True) -> bytes:
    """The payload bytes exactly as received; with ``check`` the sha256 must match the row."""
    if capture.payload_file is None or capture.payload_offset is None:
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no payload "
                             f"(outcome {capture.outcome}: {capture.reason or 'no response'})")
    record = read_record_at(warc_dir, capture.payload_file, capture.payload_offset)
    if check and capture.sha256 and hashlib.sha256(record.payload).hexdigest() != capture.sha256:
        raise ArchiveCorruptError(
            f"payload of capture {capture.id} in {capture.payload_file} at offset "
            f"{capture.payload_offset} does not match its sha256 {capture.sha256}")
    return record.payload


def _own_record(warc_dir: Path, capture: CaptureRecord) -> WarcRecord:
    if capture.warc_file is None or capture.warc_offset is None:
        raise NoCaptureError(f"capture {capture.id} has no WARC record")
    return read_record_at(warc_dir, capture.warc_file, capture.warc_offset)


def capture_headers(warc_dir: Path, capture: CaptureRecord) -> bytes:
    """The HTTP status line and headers of the capture's own response (or revisit) record."""
    record = _own_record(warc_dir, capture)
    if record.http_head is None:
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no HTTP response "
                             f"(outcome {capture.outcome}: {capture.reason})")
    return record.http_head


def capture_text(warc_dir: Path, capture: CaptureRecord) -> dict[str, Any]:
    """The extracted-text metadata record of the capture (title, published, text, text_sha256)."""
    if capture.text_file is None or capture.text_offset is None:
        status = capture.extraction_status or "pending"
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no extracted text "
                             f"(extraction: {status})")
    record = read_record_at(warc_dir, capture.text_file, capture.text_offset)
    return dict(json.loads(record.payload.decode("utf-8")))


def capture_warc(warc_dir: Path, capture: CaptureRecord) -> bytes:
    """The capture's WARC records (and, for a revisit, the original response) as a WARC.gz stream."""
    spans: list[tuple[str, int, int]] = []
    if capture.revisit_of is not None and capture.payload_file is not None:
        spans.append((capture.payload_file, capture.payload_offset or 0,
                      capture.payload_length or 0))
    spans += [(r["file"], r["offset"], r["length"]) for r in capture.records]
    if capture.text_file is not None and capture.text_offset is not None:
        record = read_record_at(warc_dir, capture.text_file, capture.text_offset)
        spans.append((capture.text_file, capture.text_offset, record.length))
    out = bytearray()
    seen = set()
    for name, offset, length in spans:
        if (name, offset) in seen:
            continue
        seen.add((name, offset))
        try:
            with open(_safe_path(warc_dir, name), "rb") as fh:
                fh.seek(offset)
                chunk = fh.read(length)
        except FileNotFoundError as exc:
            raise ArchiveCorruptError(f"WARC file {name} is missing") from exc
        if len(chunk) != length:
            raise ArchiveCorruptError(f"torn record in {name} at offset {offset}: "
                                      f"{len(chunk)} of {length} bytes")
        out += chunk
    return bytes(out)
