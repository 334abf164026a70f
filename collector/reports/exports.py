"""Exporting a report's evidence: ``warc``, ``wacz``, ``csv`` or ``json``.

- ``warc``: a WARC.gz with an export ``warcinfo`` record, then every record of every capture of the cited
  URLs (request, response, revisit with its original response, metadata, extracted text) and the report
  document itself, copied byte for byte from the archive (so digests still verify with ``warcio check``).
- ``wacz``: that WARC plus a CDXJ index, ``pages/pages.jsonl`` with the extracted text of every page, and
  ``datapackage.json`` with the sha256 of every file (WACZ 1.1.1; opens in ReplayWeb.page, imports into
  pywb). The index is ``indexes/index.cdx``: the spec's indexes hold CDXJ, "MAY be gzip compressed",
  and its example names one ``index.cdx.gz``; pywb's ``wb-manager add --unpack-wacz`` takes only
  ``*.cdx`` and ``*.cdx.gz`` files, and ReplayWeb.page reads ``*.cdx``/``*.cdxj`` whole but a
  ``.cdx.gz`` only through a ZipNum ``index.idx``, so plain ``index.cdx`` is the name all three read.
- ``csv`` and ``json``: one row per citation with its verdict, state, captures, quotes and archive link
  (the rows of ``collector report status``, so both say the same).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from collector.config import Config, version
from collector.errors import InputError
from collector.reports.requisites import with_requisites
from collector.reports.status import report_status
from collector.reports.versions import effective_citations
from storage import reports, retrieve
from storage.archive import Archive
from storage.errors import StorageError
from storage.queries import captures_by_ids, snapshots
from storage.records import CaptureRecord
from storage.retrieve import capture_warc
from storage.store import open_warc
from storage.timefmt import iso_z
from storage.warcread import read_record_at

__all__ = ["FORMATS", "MEDIA_TYPES", "ExportSummary", "PackageSigner", "citation_rows", "export_report",
           "write_members", "write_wacz_package"]

FORMATS = ("warc", "wacz", "csv", "json")
MEDIA_TYPES = {"warc": "application/warc", "wacz": "application/wacz", "csv": "text/csv; charset=utf-8",
               "json": "application/json"}
SUFFIXES = {"warc": ".warc.gz", "wacz": ".wacz", "csv": ".csv", "json": ".json"}
WACZ_VERSION = "1.1.1"
WACZ_INDEX = "indexes/index.cdx"  # CDXJ (see the module docstring for the name)
CSV_FIELDS = ["report", "ref", "kind", "source", "url", "needs_url", "verdict", "checked_at", "captures",
              "first_capture_at", "latest_capture_at", "latest_outcome", "latest_http_status",
              "latest_sha256", "latest_text_sha256", "quotes", "quotes_found", "archive_link", "state",
              "archive_capture_at", "archive_http_status", "archive_problem"]


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    report: str
    format: str
    captures: int
    records: int
    bytes: int


def citation_rows(config: Config, name: str, *, base_url: str | None = None) -> list[dict[str, Any]]:
    """``collector report status`` rows (``check`` and ``state``, ok, suspect or dead, as it computes
    them with the configured ``dead_after_*``; ``archive_link`` to the capture it chooses, with
    ``archive_problem``), with the latest check also flattened into ``verdict``, ``checked_at`` and
    ``similarity``. ``base_url`` None: the ``public_base_url`` setting, else http://127.0.0.1:8080."""
    rows = report_status(config, name, base_url=base_url)
    for row in rows:
        check = row["check"] or {}
        row.update(verdict=check.get("status"), checked_at=check.get("checked_at"),
                   similarity=check.get("similarity"))
    return rows


def report_captures(config: Config, name: str) -> tuple[list[CaptureRecord], bytes]:
    """Every capture of the report's cited URLs (and of the report page) with the page requisites of
    each HTML page, and the report's own records."""
    archive = Archive.from_settings(config)
    try:
        version = reports.versions_of(archive.sessions, name)[-1]
        found: dict[int, CaptureRecord] = {}
        for cite in effective_citations(archive, name):
            for url in cite.urls:
                found.update((c.id, c) for c in snapshots(archive.sessions, url))
        if version.capture_id is not None:
            found.update((c.id, c) for c in captures_by_ids(archive.sessions, [version.capture_id]))
        # what the pages need to be seen: their images, stylesheets ... (docs/requisites.md)
        found = {c.id: c for c in with_requisites(archive, config.warc_dir, list(found.values()))}
    finally:
        archive.close()
    document = b""
    if version.doc_warc_file is not None:
        record = read_record_at(config.warc_dir, version.doc_warc_file, version.doc_warc_offset or 0)
        with open_warc(config.warc_dir, version.doc_warc_file, version.doc_warc_offset) as fh:
            fh.seek(version.doc_warc_offset or 0)
            document = fh.read(record.length)
    return sorted(found.values(), key=lambda c: (c.captured_at, c.id)), document


def _members(data: bytes) -> Iterator[bytes]:
    """The gzip members of a WARC.gz byte string (one record each, as collector writes them)."""
    while data:
        dec = zlib.decompressobj(31)
        dec.decompress(data)
        used = len(data) - len(dec.unused_data)
        yield data[:used]
        data = data[used:]


def _warcinfo(name: str, filename: str) -> bytes:
    class Writer(WARCWriter):  # type: ignore[misc]
        @staticmethod
        def _create_digester() -> Digester:
            return Digester("sha256")

    buf = io.BytesIO()
    writer = Writer(buf, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(filename, {
        "software": f"collector/{version()}", "format": "WARC File Format 1.1",
        "conformsTo": "https://iso.org/standard/68004.html",
        "description": f"Evidence of report {name}: every capture of its cited sources, exported "
                       f"{iso_z(datetime.now(UTC), timespec='seconds')}"}))
    return buf.getvalue()


def write_warc(config: Config, name: str, out: IO[bytes], *, filename: str = "") -> tuple[int, int, int]:
    """Write the report's WARC subset to ``out``; returns (captures, records, bytes)."""
    captures, document = report_captures(config, name)
    records, total = write_members([_warcinfo(name, filename or f"{name}.warc.gz"), document,
                                    *(capture_warc(config.warc_dir, c) for c in captures)], out)
    return len(captures), records, total


def write_members(chunks: Iterable[bytes], out: IO[bytes]) -> tuple[int, int]:
    """Write the gzip members (records) of WARC.gz ``chunks`` to ``out`` byte for byte, each distinct
    record once; returns (records, bytes)."""
    seen: set[str] = set()
    total = records = 0
    for chunk in chunks:
        for member in _members(chunk):
            digest = hashlib.sha256(member).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            out.write(member)
            total += len(member)
            records += 1
    return records, total


def cdxj_lines(warc_path: Path, filename: str) -> list[str]:
    """CDXJ index lines (sorted) of the response, revisit and resource records of a WARC file."""
    lines = []
    with open(warc_path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            kind = record.rec_type
            if kind not in ("response", "revisit", "resource"):
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            date = record.rec_headers.get_header("WARC-Date") or ""
            status = "200"
            mime = (record.rec_headers.get_header("Content-Type") or "").split(";")[0].strip()
            if record.http_headers is not None and kind != "resource":
                status = record.http_headers.get_statuscode() or "-"
                mime = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip()
            if kind == "revisit":
                mime = "warc/revisit"
            record.content_stream().read()
            entry = {"url": uri, "mime": mime or "unk", "status": status,
                     "digest": record.rec_headers.get_header("WARC-Payload-Digest") or "",
                     "length": str(iterator.get_record_length()),
                     "offset": str(iterator.get_record_offset()), "filename": filename}
            try:
                key = surt.surt(uri)
            except Exception:  # an odd URI is still indexed, under itself
                key = uri
            stamp = "".join(ch for ch in date if ch.isdigit())[:14]
            lines.append(f"{key} {stamp} {json.dumps(entry, separators=(', ', ': '))}")
    return sorted(lines)


def pages_jsonl(config: Config, captures: list[CaptureRecord]) -> bytes:
    out = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Pages", "hasText": True})]
    for capture in captures:
        if capture.outcome != "captured" or capture.text_file is None:
            continue
        try:
            text = retrieve.capture_text(config.warc_dir, capture)
        except StorageError:
            continue
        out.append(json.dumps({
            "id": f"capture-{capture.id}", "url": capture.url,
            "ts": iso_z(capture.captured_at, timespec="seconds"),
            "title": text.get("title") or capture.title or capture.url, "text": text.get("text") or "",
            "sha256": capture.sha256, "text_sha256": capture.text_sha256}, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8")


def write_wacz(config: Config, name: str, out: IO[bytes]) -> tuple[int, int, int]:
    """Write a WACZ of the report to ``out``; returns (captures, records, bytes of the WARC)."""
    captures, document = report_captures(config, name)
    chunks = [_warcinfo(name, "data.warc.gz"), document,
              *(capture_warc(config.warc_dir, c) for c in captures)]
    records, size = write_wacz_package(out, chunks, pages=pages_jsonl(config, captures),
                                       title=f"Report {name}",
                                       description=f"The sources cited by report {name}, as archived "
                                                   "by collector")
    return len(captures), records, size


# (the datapackage-digest's "hash", the datapackage's "created") -> the digest's "signedData"
PackageSigner = Callable[[str, str], dict[str, Any]]


def write_wacz_package(out: IO[bytes], chunks: Iterable[bytes], *, pages: bytes, title: str,
                       description: str, files: dict[str, bytes] | None = None,
                       sign: PackageSigner | None = None) -> tuple[int, int]:
    """Write a WACZ 1.1.1 to ``out``: the records of the WARC.gz ``chunks`` (each once) as
    ``archive/data.warc.gz``, its CDXJ index, ``pages`` as ``pages/pages.jsonl``, the extra ``files``
    (path -> bytes), ``datapackage.json`` with every file's sha256 and ``datapackage-digest.json``,
    with ``signedData`` from ``sign`` when given. Returns (records, bytes of the WARC)."""
    with tempfile.TemporaryDirectory(prefix="collector-wacz-") as tmp:
        warc_name = "data.warc.gz"
        warc_path = Path(tmp) / warc_name
        with open(warc_path, "wb") as fh:
            records, size = write_members(chunks, fh)
        contents = {
            WACZ_INDEX: ("\n".join(cdxj_lines(warc_path, warc_name)) + "\n").encode("utf-8"),
            "pages/pages.jsonl": pages, **(files or {}),
        }
        resources = []
        with zipfile.ZipFile(out, "w") as zf:
            digest = hashlib.sha256()
            with open(warc_path, "rb") as src, zf.open(zipfile.ZipInfo(f"archive/{warc_name}",
                                                                       _zip_time()), "w") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    dst.write(block)
            resources.append({"name": warc_name, "path": f"archive/{warc_name}",
                              "hash": f"sha256:{digest.hexdigest()}", "bytes": size})
            for path, data in contents.items():
                zf.writestr(_deflated(path), data)
                resources.append({"name": path.rsplit("/", 1)[-1], "path": path,
                                  "hash": f"sha256:{hashlib.sha256(data).hexdigest()}", "bytes": len(data)})
            created = iso_z(datetime.now(UTC), timespec="seconds")
            package = {"profile": "data-package", "wacz_version": WACZ_VERSION, "title": title,
                       "description": description, "created": created,
                       "software": f"collector {version()}", "resources": resources}
            package_bytes = json.dumps(package, indent=2).encode("utf-8")
            zf.writestr(_deflated("datapackage.json"), package_bytes)
            package_digest: dict[str, Any] = {
                "path": "datapackage.json", "hash": f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"}
            if sign is not None:
                package_digest["signedData"] = sign(package_digest["hash"], created)
            zf.writestr(_deflated("datapackage-digest.json"),
                        json.dumps(package_digest, indent=2).encode("utf-8"))
    return records, size


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def _deflated(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, _zip_time())
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def csv_row(name: str, row: dict[str, Any]) -> dict[str, Any]:
    first, latest = row["first_capture"] or {}, row["latest_capture"] or {}
    archive = row["archive_capture"] or {}
    return {"report": name, "ref": row["ref"], "kind": row["kind"], "source": row["source"],
            "url": row["url"] or "", "needs_url": row["needs_url"], "verdict": row.get("verdict") or "",
            "checked_at": row.get("checked_at") or "", "captures": len(row["captures"]),
            "first_capture_at": first.get("captured_at", ""),
            "latest_capture_at": latest.get("captured_at", ""), "latest_outcome": latest.get("outcome", ""),
            "latest_http_status": latest.get("http_status") or "",
            "latest_sha256": latest.get("sha256") or "",
            "latest_text_sha256": latest.get("text_sha256") or "",
            "quotes": len(row["quotes"]), "quotes_found": sum(1 for q in row["quotes"] if q["archived"]),
            "archive_link": row["archive_link"] or "", "state": row["state"] or "",
            "archive_capture_at": archive.get("captured_at", ""),
            "archive_http_status": archive.get("http_status") or "",
            "archive_problem": row["archive_problem"] or ""}


def export_report(config: Config, name: str, fmt: str, out: IO[bytes], *,
                  base_url: str | None = None) -> ExportSummary:
    """Export report ``name`` in ``fmt`` (warc, wacz, csv, json) to the binary stream ``out``.

    Archive links (csv, json) start with ``base_url``, else the ``public_base_url`` setting, else
    http://127.0.0.1:8080."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "warc":
        return ExportSummary(name, fmt, *write_warc(config, name, out, filename=f"{name}.warc.gz"))
    if fmt == "wacz":
        return ExportSummary(name, fmt, *write_wacz(config, name, out))
    rows = citation_rows(config, name, base_url=base_url)
    if fmt == "json":
        now = iso_z(datetime.now(UTC))
        data = json.dumps({"report": name, "exported_at": now, "citations": rows}, ensure_ascii=False,
                          indent=1, default=str).encode("utf-8")
    else:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_row(name, row))
        data = text.getvalue().encode("utf-8")
    out.write(data)
    return ExportSummary(name, fmt, sum(len(r["captures"]) for r in rows), len(rows), len(data))
