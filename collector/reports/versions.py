"""Reports: add a document (file or URL), attach URLs to its references, and report on every citation.

The parsing is pure (``collector.citations``); this module reads the input, validates a manifest
before anything is written, and stores a new version of the report with its citations in one
transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.capture.run import capture_urls, check_url
from collector.citations import ReportParseError, parse_report
from collector.config import Config
from collector.errors import InputError
from collector.inputs import read_text_file, upload_name
from storage import reports
from storage.archive import Archive
from storage.errors import ContentDecodeError
from storage.queries import captures_by_ids
from storage.records import CaptureRecord, CitationData, LinkData, ReportVersionRecord
from storage.retrieve import archived_response
from storage.warcread import read_record_at

__all__ = [
    "EffectiveCitation",
    "add_document",
    "add_report",
    "add_uploaded_report",
    "effective_citations",
    "import_manifest",
    "is_url_source",
    "link_reference",
    "parse_manifest",
    "report_urls",
    "version_diff",
]

_MEDIA_TYPES = {"text": "text/plain; charset=utf-8", "markdown": "text/markdown; charset=utf-8",
                "html": "text/html", "pdf": "application/pdf"}
_URL_LIKE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@dataclass(frozen=True)
class Document:
    """A report's bytes and where they came from."""

    data: bytes
    filename: str
    content_type: str | None
    source_url: str | None = None
    capture_id: int | None = None


@dataclass(frozen=True)
class EffectiveCitation:
    """A stored citation with the URLs, quotes and notes attached to its reference."""

    citation: CitationData
    urls: tuple[str, ...]
    quotes: tuple[str, ...]
    notes: tuple[str, ...] = ()
    links: tuple[LinkData, ...] = field(default_factory=tuple)

    @property
    def needs_url(self) -> bool:
        """True while no URL is known for a citation that should have one."""
        return not self.urls and (self.citation.needs_url or self.citation.kind in ("web", "social",
                                                                                     "unknown"))


def is_url_source(source: str) -> bool:
    """True when a report source is a URL (``scheme://...``) rather than a file name."""
    return bool(_URL_LIKE.match(source))


def _archived_report(config: Config, record: CaptureRecord) -> bytes:
    """A report captured from the web, content-decoded (a report that cannot be decoded is bad input)."""
    try:
        return archived_response(config.warc_dir, record).decoded(config.max_body_bytes)
    except ContentDecodeError as exc:
        raise InputError(str(exc)) from exc


def load_document(config: Config, source: str) -> Document:
    """Read a report from a local file, or capture it first when ``source`` is a URL."""
    if is_url_source(source):
        url = check_url(source)
        result = capture_urls(config, [url])[0]
        if result["outcome"] != "captured" or (result.get("http_status") or 0) >= 400:
            raise InputError(f"{source}: the report could not be captured "
                             f"({result.get('reason') or 'HTTP ' + str(result.get('http_status'))}"
                             f": {result.get('reason_detail') or ''})")

        archive = Archive.from_settings(config)
        try:
            record = captures_by_ids(archive.sessions, [result["id"]])[0]
            data = _archived_report(config, record)
        finally:
            archive.close()
        name = (result.get("final_url") or url).rstrip("/").rsplit("/", 1)[-1] or "report"
        return Document(data, name, record.content_type, source_url=url, capture_id=record.id)
    path = Path(source)
    try:
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise InputError(f"{source} is a directory, not a report file") from exc
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}") from exc
    if not data.strip():
        raise InputError(f"{source} is empty")
    return Document(data, path.name, None)


def resolve_ref(ref: str, known: set[str]) -> str | None:
    """The stored ref that ``ref`` (as a user types it: ``4``, ``[4]``, ``^a``, ``a``) names."""
    text = ref.strip().strip("[]").strip()
    for candidate in (text, "^" + text.lstrip("^"), text.lstrip("^")):
        if candidate in known:
            return candidate
    return None


def parse_manifest(path: Path, known_refs: set[str]) -> list[LinkData]:
    """Read a manifest CSV (``ref,url`` plus optional ``quote``, ``note``); validate every line.

    Raises InputError naming the file and line of the first problems found; nothing is returned
    (so nothing is written) when any line is bad.
    """
    text = read_text_file(path, "manifest")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "ref" not in header or "url" not in header:
        raise InputError(f"{path}:1: the manifest needs a header with columns ref,url "
                         "(and optionally quote,note)")
    unknown = sorted(set(header) - {"ref", "url", "quote", "note"})
    if unknown:
        raise InputError(f"{path}:1: unknown column(s) {', '.join(unknown)}")
    links: list[LinkData] = []
    errors: list[str] = []
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        given = row.get("ref", "").strip()
        url = row.get("url") or None
        if not given:
            errors.append(f"{path}:{number}: empty ref")
            continue
        ref = resolve_ref(given, known_refs) or given
        if ref not in known_refs:
            errors.append(f"{path}:{number}: unknown reference {ref!r} (not a marker or notes entry "
                          "of the report)")
            continue
        if url:
            try:
                url = check_url(url)
            except InputError as exc:
                errors.append(f"{path}:{number}: {exc}")
                continue
        if not url and not row.get("quote") and not row.get("note"):
            errors.append(f"{path}:{number}: nothing to attach (url, quote and note are empty)")
            continue
        links.append(LinkData(ref=ref, url=url, quote=row.get("quote") or None,
                              note=row.get("note") or None, source=f"manifest {path.name}:{number}"))
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InputError("; ".join(errors[:5]) + more)
    if not links:
        raise InputError(f"{path}: the manifest has no rows")
    return links


def version_diff(old: Sequence[CitationData], new: Sequence[CitationData]) -> dict[str, list[str]]:
    """Which refs were added, removed or changed between two versions' citations."""
    before = {c.ref: c for c in old}
    after = {c.ref: c for c in new}
    changed = [ref for ref in after if ref in before
               and (before[ref].raw, before[ref].urls, before[ref].quotes)
               != (after[ref].raw, after[ref].urls, after[ref].quotes)]
    return {"added": [r for r in after if r not in before],
            "removed": [r for r in before if r not in after], "changed": changed}


def add_report(config: Config, source: str, *, name: str | None = None,
               manifest: Path | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Add (a new version of) a report; returns a summary with the version diff and refs needing URLs."""
    return add_document(config, load_document(config, source), source, name=name, manifest=manifest,
                        now=now)


def add_uploaded_report(config: Config, filename: str, data: bytes, *, name: str | None = None,
                        manifest: Path | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Add (a new version of) a report sent as bytes (an upload): ``add_report`` of a file named
    ``filename`` (only its last path part counts; the source is recorded as ``upload:FILENAME``)."""
    base = upload_name(filename)
    if base is None:
        raise InputError(f"the uploaded report has no usable file name ({filename!r})")
    if not data.strip():
        raise InputError(f"{base} is empty")
    return add_document(config, Document(data, base, None), f"upload:{base}", name=name,
                        manifest=manifest, now=now)


def add_document(config: Config, document: Document, source: str, *, name: str | None = None,
                 manifest: Path | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Add (a new version of) the report ``document``, recorded as coming from ``source``."""
    try:
        parsed = parse_report(document.data, filename=document.filename,
                              content_type=document.content_type, base_url=document.source_url)
    except ReportParseError as exc:
        raise InputError(str(exc) if source in str(exc) else f"{source}: {exc}") from exc
    citations: list[CitationData] = list(parsed.citations)
    refs = {c.ref for c in citations} | set(parsed.markers)
    links = parse_manifest(manifest, refs) if manifest is not None else []
    name = name or re.sub(r"\.[A-Za-z0-9]+$", "", document.filename) or "report"
    archive = Archive.from_settings(config)
    try:
        try:
            previous = reports.citations_of(archive.sessions, name)
        except reports.NoReportError:
            previous = []
        stored = None
        if document.capture_id is None:  # a local file: keep this version of it in the archive
            stored = archive.store_document(
                f"urn:collector:report:{name}:{hashlib.sha256(document.data).hexdigest()}",
                document.data, _MEDIA_TYPES.get(parsed.format, "application/octet-stream"))
        version, created = reports.add_version(
            archive.sessions, name, source=source, source_url=document.source_url,
            format=parsed.format, title=parsed.title,
            sha256=hashlib.sha256(document.data).hexdigest(), size=len(document.data),
            capture_id=document.capture_id, warnings=list(parsed.warnings), citations=citations,
            links=links, now=now or datetime.now(UTC), document=stored)
        effective = effective_citations(archive, name)
    finally:
        archive.close()
    return {
        "report": name, "version": version.version, "new_version": created,
        "format": version.format, "title": version.title, "sha256": version.sha256,
        "citations": len(citations), "markers": len(parsed.markers),
        "entries": sum(1 for c in citations if c.has_entry),
        "links_added": len(links),
        "needs_url": [c.citation.ref for c in effective if c.needs_url],
        "changes": version_diff(previous, citations) if previous and created else None,
        "warnings": list(parsed.warnings),
    }


def effective_citations(archive: Any, name: str) -> list[EffectiveCitation]:
    """The latest version's citations with their attached links (an ibid shares its target's URLs)."""
    citations = reports.citations_of(archive.sessions, name)
    links = reports.links_of(archive.sessions, name)
    by_ref: dict[str, list[LinkData]] = {}
    for link in links:
        by_ref.setdefault(link.ref, []).append(link)
    out: list[EffectiveCitation] = []
    known = {c.ref for c in citations}
    for citation in citations:
        mine = by_ref.get(citation.ref, [])
        urls = list(citation.urls) + [link.url for link in mine if link.url]
        if citation.kind == "ibid" and citation.ibid_of and not urls:
            target = next((c for c in citations if c.ref == citation.ibid_of), None)
            urls = list(target.urls) if target else []
            urls += [link.url for link in by_ref.get(citation.ibid_of, []) if link.url]
        out.append(EffectiveCitation(
            citation=citation, urls=tuple(dict.fromkeys(urls)),
            quotes=tuple(dict.fromkeys(list(citation.quotes)
                                       + [link.quote for link in mine if link.quote])),
            notes=tuple(link.note for link in mine if link.note), links=tuple(mine)))
    for ref, extra in by_ref.items():  # links to markers that the parser saw but stored no row for
        if ref not in known:
            out.append(EffectiveCitation(
                citation=CitationData(ref=ref, kind="unknown", has_entry=False, needs_url=True),
                urls=tuple(dict.fromkeys(link.url for link in extra if link.url)),
                quotes=tuple(link.quote for link in extra if link.quote),
                notes=tuple(link.note for link in extra if link.note), links=tuple(extra)))
    return out


def import_manifest(config: Config, name: str, path: Path, *, now: datetime | None = None) -> list[LinkData]:
    """Attach every row of a manifest CSV (``parse_manifest``) to report ``name``'s references; nothing
    is attached when any row is bad."""
    archive = Archive.from_settings(config)
    try:
        refs = {c.ref for c in reports.citations_of(archive.sessions, name)}
        links = parse_manifest(path, refs)
        reports.add_links(archive.sessions, name, links, now=now or datetime.now(UTC))
    finally:
        archive.close()
    return links


def link_reference(config: Config, name: str, ref: str, url: str | None, *,
                   quote: str | None = None, note: str | None = None, source: str = "cli") -> LinkData:
    """Attach a URL (and optionally a quote or note) to one reference of a report."""
    checked = check_url(url) if url else None
    archive = Archive.from_settings(config)
    try:
        refs = {c.ref for c in reports.citations_of(archive.sessions, name)}
        found = resolve_ref(ref, refs)
        if found is None:
            raise InputError(f"report {name!r} has no reference {ref!r}")
        ref = found
        link = LinkData(ref=ref, url=checked, quote=quote, note=note, source=source)
        reports.add_links(archive.sessions, name, [link], now=datetime.now(UTC))
    finally:
        archive.close()
    return link


def report_document(config: Config, name: str) -> tuple[ReportVersionRecord, bytes]:
    """The latest version of a report and its document bytes, read back from the archive."""
    archive = Archive.from_settings(config)
    try:
        version = reports.versions_of(archive.sessions, name)[-1]
        if version.doc_warc_file is not None:
            record = read_record_at(config.warc_dir, version.doc_warc_file,
                                    version.doc_warc_offset or 0)
            return version, record.payload
        if version.capture_id is None:
            raise InputError(f"report {name!r} has no archived document")
        record_ = captures_by_ids(archive.sessions, [version.capture_id])[0]
        return version, _archived_report(config, record_)
    finally:
        archive.close()


def report_urls(config: Config, name: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Every URL to capture for a report (its citations, and the report itself when it is a web page)."""
    archive = Archive.from_settings(config)
    try:
        versions = reports.versions_of(archive.sessions, name)
        cites = effective_citations(archive, name)
    finally:
        archive.close()
    urls: list[str] = []
    contexts: dict[str, dict[str, Any]] = {}
    if versions and versions[-1].source_url:
        urls.append(versions[-1].source_url)
        contexts[versions[-1].source_url] = {"report": name, "ref": "report"}
    for cite in cites:
        for url in cite.urls:
            if url not in contexts:
                urls.append(url)
                contexts[url] = {"report": name, "ref": cite.citation.ref}
    return urls, contexts
