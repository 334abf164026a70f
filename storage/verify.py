"""``verify``: re-read every record the rows point to, recompute digests, find missing and torn data."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage import queries
from storage.errors import ArchiveCorruptError
from storage.store import open_warc, warc_names
from storage.warcread import check_record, read_record_at, scan_file

__all__ = ["Findings", "VerifyReport", "verify_archive"]


@dataclass
class Findings:
    """What a verification found: ``problems`` make the archive fail, ``warnings`` do not. Subclasses
    add their counters as fields; ``to_json`` lists them first."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The public JSON form: the counters, ``problems``, ``warnings`` and ``ok``."""
        counters = {f.name: getattr(self, f.name) for f in fields(self)
                    if f.name not in ("problems", "warnings")}
        return {**counters, "problems": self.problems, "warnings": self.warnings, "ok": self.ok}


@dataclass
class VerifyReport(Findings):
    """What verify found."""

    records_checked: int = 0
    captures_checked: int = 0
    files_scanned: int = 0


def verify_archive(sessions: sessionmaker[Session], warc_dir: Path, *,
                   progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check every record every row points to, then scan every WARC file for torn tails."""
    report = VerifyReport()
    referenced: dict[str, set[int]] = {}
    for capture in queries.iter_captures(sessions):
        report.captures_checked += 1
        spans = [(r["file"], r["offset"], r.get("type", ""), r.get("id")) for r in capture.records]
        if capture.text_file and capture.text_offset is not None:
            spans.append((capture.text_file, capture.text_offset, "metadata", None))
        for name, offset, kind, record_id in spans:
            if name in referenced and offset in referenced[name]:
                continue
            referenced.setdefault(name, set()).add(offset)
            report.records_checked += 1
            where = {"capture_id": capture.id, "url": capture.url, "warc_file": name,
                     "offset": offset, "record_type": kind}
            try:
                record = read_record_at(warc_dir, name, offset)
            except ArchiveCorruptError as exc:
                kind_ = "missing-file" if "missing" in str(exc) else "unreadable-record"
                report.problems.append({**where, "kind": kind_, "detail": str(exc)})
                continue
            if record_id and record.headers.get("WARC-Record-ID") != record_id:
                report.problems.append({**where, "kind": "wrong-record",
                                        "detail": f"expected {record_id} at offset {offset} of {name}, "
                                                  f"found {record.headers.get('WARC-Record-ID')}"})
                continue
            for problem in check_record(record):
                report.problems.append({**where, "kind": problem.replace(" ", "-"),
                                        "detail": f"{problem} in {name} at offset {offset}"})
            is_payload = (name == capture.payload_file and offset == capture.payload_offset)
            if is_payload and capture.sha256 and (
                    hashlib.sha256(record.payload).hexdigest() != capture.sha256):
                report.problems.append({**where, "kind": "sha256-mismatch",
                                        "detail": f"payload sha256 differs from the row's "
                                                  f"{capture.sha256}"})
        if progress:
            progress(1)
    for name in warc_names(warc_dir):  # the staging directory's and the object store's (storage.store)
        report.files_scanned += 1
        for item in scan_file(open_warc(warc_dir, name)):
            if isinstance(item, ArchiveCorruptError):
                entry = {"kind": "torn-tail", "warc_file": name, "detail": str(item)}
                report.warnings.append(entry)
    return report
