"""Merging small WARC files into larger ones, with every row that points into them moved along.

``collector warc consolidate`` (issue 13). Files are merged in name order (so by date) into groups
of at most ``target_bytes``; a file is left alone when another process holds it (a writer is
writing it), when it is already that large, when its tail is torn (``verify`` reports it) or when
its name is not one collector gives. Records are copied byte for byte, one gzip member each, so
their digests and bytes stay the same; only each ``warcinfo`` record is rewritten for its new file
(same WARC-Record-ID: the WARC-Warcinfo-ID of the records still finds it).

One group, crash-safe step by step:

1. ``.<new>.partial`` is written, flushed and fsynced;
2. a journal ``.consolidate-<new>.json`` names the new file and its sources (fsynced);
3. the partial file is renamed to ``<new>`` (a name writers never continue: sealed);
4. ONE transaction moves every row (captures, hops, extractions, report documents) to it;
5. the sources are removed, then the journal.

A process killed anywhere leaves a home that ``verify`` passes: before 4 the rows still point at
the sources, after it at the new file, and no file a row points at is removed before the commit.
The next consolidation first finishes or undoes what a journal describes (done when rows point at
the new file, or a source is gone; undone otherwise) and removes partial files. One consolidation
runs at a time (``.consolidate.lock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import ArchiveCorruptError, StorageError
from storage.models import Capture, CaptureHop, Extraction, ReportVersion
from storage.warcfile import file_day, lock_file, warcinfo_member
from storage.warcread import WarcRecord, scan_file, tail_is_complete

__all__ = ["ConsolidateReport", "consolidate_warcs"]

_JOURNAL = ".consolidate-{}.json"
_STAMP = re.compile(r"-(\d{20})-")
_MERGED = re.compile(r"(?P<prefix>.+)-\d{20}-merged-\d+-\d{5}\.warc\.gz")
_CHUNK = 2**20

Step = Callable[[str], None]


@dataclass
class ConsolidateReport:
    """What a consolidation did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    files_before: int = 0
    files_after: int = 0
    merged: list[dict[str, Any]] = field(default_factory=list)  # into, files, records, bytes, rows
    skipped: list[dict[str, Any]] = field(default_factory=list)  # warc_file, reason
    recovered: list[dict[str, Any]] = field(default_factory=list)  # into, action

    def to_json(self) -> dict[str, Any]:
        """The public JSON form."""
        return {"dry_run": self.dry_run, "files_before": self.files_before,
                "files_after": self.files_after, "merged": self.merged, "skipped": self.skipped,
                "recovered": self.recovered}


def consolidate_warcs(sessions: sessionmaker[Session], warc_dir: Path, *, target_bytes: int,
                      prefix: str = "collector", dry_run: bool = False,
                      clock: Callable[[], datetime] | None = None,
                      on_step: Step | None = None) -> ConsolidateReport:
    """Merge the small WARC files of ``warc_dir`` into files of up to ``target_bytes``, moving the
    rows that point into them (see the module docstring). ``on_step`` is called with the name of
    each durable step reached (``written``, ``journaled``, ``renamed``, ``committed``, ``removed``):
    tests stop the process there."""
    warc_dir = Path(warc_dir)
    step = on_step or (lambda _name: None)
    report = ConsolidateReport(dry_run=dry_run)
    warc_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(warc_dir / ".consolidate.lock"):
        if dry_run:
            report.recovered = [{"into": json.loads(p.read_text())["into"], "action": "pending"}
                                for p in sorted(warc_dir.glob(_JOURNAL.format("*")))]
        else:
            report.recovered = _recover(sessions, warc_dir)
        names = sorted(p.name for p in warc_dir.glob("*.warc.gz"))
        report.files_before = len(names)
        candidates: list[tuple[str, int]] = []
        for name in names:
            size = (warc_dir / name).stat().st_size
            reason = _unmergeable(warc_dir / name, name, size, target_bytes, prefix)
            if reason == "large enough":
                continue
            if reason:
                report.skipped.append({"warc_file": name, "reason": reason})
            else:
                candidates.append((name, size))
        for group in _groups(candidates, target_bytes):
            if dry_run:
                report.merged.append({"into": None, "files": group, "records": None,
                                      "bytes": sum(size for name, size in candidates
                                                   if name in group), "rows": None})
                continue
            done = _merge(sessions, warc_dir, group, prefix, clock or (lambda: datetime.now(UTC)),
                          step, report)
            if done:
                report.merged.append(done)
    merged_away = sum(len(m["files"]) - 1 for m in report.merged)
    report.files_after = (len(list(warc_dir.glob("*.warc.gz"))) if not dry_run
                          else report.files_before - merged_away)
    return report


# -- choosing ---------------------------------------------------------------------------------------
def _unmergeable(path: Path, name: str, size: int, target_bytes: int, prefix: str) -> str | None:
    """Why the file cannot be merged now (None: it can)."""
    if size >= target_bytes:
        return "large enough"
    merged = _MERGED.fullmatch(name)
    if file_day(name, prefix) is None and not (merged and merged.group("prefix") == prefix):
        return "not a file collector writes"
    with open(path, "rb") as fh:
        if not lock_file(fh, path):
            return "being written"
        if not tail_is_complete(fh):
            return "torn tail (see verify)"
    return None


def _groups(candidates: list[tuple[str, int]], target_bytes: int) -> Iterator[list[str]]:
    """Runs of consecutive files whose sizes add up to at most ``target_bytes`` (two files or more)."""
    group: list[str] = []
    total = 0
    for name, size in candidates:
        if group and total + size > target_bytes:
            if len(group) > 1:
                yield group
            group, total = [], 0
        group.append(name)
        total += size
    if len(group) > 1:
        yield group


# -- merging ----------------------------------------------------------------------------------------
def _merge(sessions: sessionmaker[Session], warc_dir: Path, group: list[str], prefix: str,
           clock: Callable[[], datetime], step: Step, report: ConsolidateReport
           ) -> dict[str, Any] | None:
    """Merge one group; its summary, or None when it was left as it was (said in ``skipped``)."""
    with contextlib.ExitStack() as stack:
        sources: list[tuple[str, BinaryIO]] = []
        for name in group:  # held until the sources are removed: no writer may pick one meanwhile
            fh = stack.enter_context(open(warc_dir / name, "rb"))
            if lock_file(fh, warc_dir / name):
                sources.append((name, fh))
            else:
                report.skipped.append({"warc_file": name, "reason": "being written"})
        if len(sources) < 2:
            return None
        into = _new_name(warc_dir, prefix, sources[0][0], clock)
        partial = warc_dir / f".{into}.partial"
        out = stack.enter_context(open(partial, "xb"))
        lock_file(out, partial, wait=True)
        try:
            moved, records = _copy(warc_dir, sources, out, into, report)
        except ArchiveCorruptError:
            partial.unlink()
            return None
        step("written")
        journal = warc_dir / _JOURNAL.format(into)
        _write_durably(journal, json.dumps({"into": into, "files": list(moved)}).encode())
        step("journaled")
        os.rename(partial, warc_dir / into)
        _sync_dir(warc_dir)
        step("renamed")
        try:
            with sessions() as session, session.begin():
                rows = _move_rows(session, moved, into)
        except _UnknownOffset as exc:
            report.skipped.extend({"warc_file": name, "reason": str(exc)} for name in moved)
            (warc_dir / into).unlink()
            journal.unlink()
            _sync_dir(warc_dir)
            return None
        step("committed")
        for n, name in enumerate(moved):
            (warc_dir / name).unlink()
            if n == 0:
                step("removed")
        _sync_dir(warc_dir)
        journal.unlink()
        _sync_dir(warc_dir)
    return {"into": into, "files": list(moved), "records": records,
            "bytes": (warc_dir / into).stat().st_size, "rows": rows}


def _new_name(warc_dir: Path, prefix: str, first: str, clock: Callable[[], datetime]) -> str:
    """``<prefix>-<first source's stamp>-merged-<pid>-<serial>.warc.gz``: sorts among the sources'
    dates, and no writer continues it."""
    found = _STAMP.search(first)
    stamp = found.group(1) if found else clock().astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    serial = 0
    while True:
        serial += 1
        name = f"{prefix}-{stamp}-merged-{os.getpid()}-{serial:05d}.warc.gz"
        if not (warc_dir / name).exists() and not (warc_dir / f".{name}.partial").exists():
            return name


def _copy(warc_dir: Path, sources: list[tuple[str, BinaryIO]], out: BinaryIO, into: str,
          report: ConsolidateReport) -> tuple[dict[str, dict[int, int]], int]:
    """Copy every record of every source to ``out`` (fsynced); where each record went, by file and
    old offset, and how many records. A source that does not read whole is left out (skipped)."""
    moved: dict[str, dict[int, int]] = {}
    records = 0
    for name, fh in sources:
        scanned: list[WarcRecord] = []
        for item in scan_file(warc_dir / name):
            if isinstance(item, ArchiveCorruptError):
                report.skipped.append({"warc_file": name, "reason": f"unreadable: {item}"})
                break
            scanned.append(item)
        else:
            offsets = moved[name] = {}
            for record in scanned:
                offsets[record.offset] = out.tell()
                if record.type == "warcinfo":
                    out.write(_warcinfo_for(record, into))
                else:
                    fh.seek(record.offset)
                    out.write(fh.read(record.length))
            records += len(scanned)
    if len(moved) < 2:
        raise ArchiveCorruptError("fewer than two whole files to merge")
    out.flush()
    os.fsync(out.fileno())
    return moved, records


def _warcinfo_for(record: WarcRecord, into: str) -> bytes:
    """``record`` (a warcinfo record) rewritten to name file ``into``."""
    fields: dict[str, str] = {}
    for line in record.block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return warcinfo_member(into, fields, record_id=record.headers["WARC-Record-ID"],
                           date=record.headers["WARC-Date"])


class _UnknownOffset(StorageError):
    """A row points into a source at an offset where no record starts."""


def _move_rows(session: Session, moved: dict[str, dict[int, int]], into: str) -> int:
    """Point every row that points into a moved file at the new file; how many rows changed."""
    names = list(moved)

    def new_offset(name: str, offset: int | None) -> int | None:
        if offset is None:
            return None
        try:
            return moved[name][offset]
        except KeyError:
            raise _UnknownOffset(f"a row points at offset {offset} of {name}, where no record "
                                 "starts: left as it is") from None

    changed = 0
    for start in range(0, len(names), 50):
        chunk = names[start:start + 50]
        captures = session.scalars(select(Capture).where(or_(
            Capture.warc_file.in_(chunk), Capture.payload_file.in_(chunk),
            *(cast(Capture.records, Text).like(f"%{name}%") for name in chunk))))
        for row in captures:
            old_file = row.warc_file
            row.records = [_move_entry(entry, old_file, moved, into, new_offset)
                           for entry in row.records or []]
            if row.warc_file in moved:
                row.warc_offset = new_offset(row.warc_file, row.warc_offset)
                row.warc_file = into
            if row.payload_file in moved:
                row.payload_offset = new_offset(row.payload_file, row.payload_offset)
                row.payload_file = into
            row.records = [_compact_entry(entry, row.warc_file) for entry in row.records]
            changed += 1
        others: list[CaptureHop | Extraction] = [
            *session.scalars(select(CaptureHop).where(CaptureHop.warc_file.in_(chunk))),
            *session.scalars(select(Extraction).where(Extraction.warc_file.in_(chunk)))]
        for other in others:
            assert other.warc_file is not None
            other.warc_offset = new_offset(other.warc_file, other.warc_offset)
            other.warc_file = into
            changed += 1
        for version in session.scalars(select(ReportVersion).where(
                ReportVersion.doc_warc_file.in_(chunk))):
            assert version.doc_warc_file is not None
            version.doc_warc_offset = new_offset(version.doc_warc_file, version.doc_warc_offset)
            version.doc_warc_file = into
            changed += 1
    return changed


def _move_entry(entry: Any, row_file: str | None, moved: dict[str, dict[int, int]], into: str,
                new_offset: Callable[[str, int | None], int | None]) -> Any:
    """A ``records`` entry (compact list or older dict) with its file written out, moved if its
    file was."""
    if isinstance(entry, dict):
        name = entry.get("file")
        if name in moved:
            return {**entry, "file": into, "offset": new_offset(name, entry.get("offset"))}
        return dict(entry)
    kind, offset, length, rid, *rest = entry
    extra = dict(rest[0]) if rest else {}
    name = extra.get("file") or row_file
    if name in moved:
        offset, name = new_offset(name, offset), into
    extra["file"] = name
    return [kind, offset, length, rid, extra]


def _compact_entry(entry: Any, row_file: str | None) -> Any:
    """A compact entry again: its file only when it is not the row's."""
    if isinstance(entry, dict):
        return entry
    kind, offset, length, rid, extra = entry
    rest = {k: v for k, v in extra.items() if not (k == "file" and v == row_file)}
    return [kind, offset, length, rid, rest] if rest else [kind, offset, length, rid]


# -- crash recovery ---------------------------------------------------------------------------------
def _recover(sessions: sessionmaker[Session], warc_dir: Path) -> list[dict[str, Any]]:
    """Finish or undo the consolidations a killed process left (journals), remove partial files."""
    done = []
    for journal in sorted(warc_dir.glob(_JOURNAL.format("*"))):
        plan = json.loads(journal.read_text())
        into, files = plan["into"], plan["files"]
        final = warc_dir / into
        if final.exists() and (_referenced(sessions, into)
                               or not all((warc_dir / name).exists() for name in files)):
            for name in files:  # committed: the sources are copies now
                with contextlib.suppress(FileNotFoundError):
                    (warc_dir / name).unlink()
            done.append({"into": into, "action": "completed"})
        else:  # not committed: the sources are what the rows point at
            with contextlib.suppress(FileNotFoundError):
                final.unlink()
            done.append({"into": into, "action": "undone"})
        _sync_dir(warc_dir)
        journal.unlink()
    for partial in warc_dir.glob(".*.warc.gz.partial"):
        partial.unlink()
    _sync_dir(warc_dir)
    return done


def _referenced(sessions: sessionmaker[Session], name: str) -> bool:
    """Whether any row points into file ``name``."""
    with sessions() as session:
        for column in (Capture.warc_file, Capture.payload_file, CaptureHop.warc_file,
                       Extraction.warc_file, ReportVersion.doc_warc_file):
            if session.scalar(select(column).where(column == name).limit(1)) is not None:
                return True
        return session.scalar(select(Capture.id).where(
            cast(Capture.records, Text).like(f"%{name}%")).limit(1)) is not None


# -- files ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold the flock of ``path`` (created if need be); StorageError when another process has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StorageError(f"another consolidation of {path.parent} is running") from None
        yield
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
