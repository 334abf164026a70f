"""Rebuilding the index from the WARC files: capture rows, redirect hops, revisit links, texts.

``index_files`` reads WARC files (already in the archive's WARC directory) in order and inserts a
``captures`` row per fetch attempt they record (``storage.warcindex`` groups the records), the
``capture_hops`` of its redirect chain, its extracted text (``extractions`` row and search index) from
the text record that refers to it. A capture of HTML or PDF whose text the files do not hold (the
extraction found none, failed, or never ran, or the file came from another tool) is extracted with
the ``extract`` function given, when there is one (``collector`` passes its extractor: ``storage``
does not import it), and committed like any text (``Archive.commit_extractions``).

Records already indexed (a row with the same WARC-Record-ID, looked up through the index on it for
500 events at a time, not read all into memory) are skipped, so indexing a file twice adds nothing.
The TLS and proxy columns come from the capture's metadata record (``tls``, ``proxy``), and so do
``mode`` and ``mode_reason`` (a capture without a metadata record: ``http``, as the archive wrote its
row), and ``page_id`` (of a requisite, a browser sub-resource, a media download): the row of the
capture whose main record the metadata record's ``page_record`` names (older files: an HTTP
requisite's ``context.requisite_of``, the URL of its page). A media download's row has the resource
record its metadata record refers to as its main record and payload. What the files do not hold
(reports, citations, checks, schedules, feeds, tokens, a run's fetch time) is not
rebuilt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from storage.archive import Archive, _compact, _entry
from storage.canonical import url_key
from storage.errors import ArchiveCorruptError
from storage.hops import Hop, final_key, hop_rows, stored_chain
from storage.ledger import adopt_rows
from storage.models import Capture, CaptureHop, Extraction
from storage.records import PROBE, ExtractionInput, RecordLocation
from storage.retrieve import extracted_type, header_value
from storage.search import index_texts
from storage.storable import storable_row, storable_value
from storage.store import open_warc, warc_names
from storage.warcfile import REVISIT_METADATA
from storage.warcindex import (
    CaptureEvent,
    FileRecord,
    TextEvent,
    body_sha256,
    group_records,
    parse_warc_date,
    payload_sha256,
    target_uri,
)
from storage.warcread import scan_file

__all__ = ["Extract", "IndexSummary", "capture_count", "index_files", "warc_files"]

# (warc_dir, [(warc_file, offset, url), ...]) -> the extraction result dicts of
# collector.capture.extraction, in order
Extract = Callable[[Path, list[tuple[str, int, str]]], list[dict[str, Any]]]


@dataclass
class IndexSummary:
    """What indexing found and did (the ``--json`` summary of reindex and import)."""

    files: int = 0
    records: int = 0
    captures: int = 0
    captured: int = 0
    failed: int = 0
    revisits: int = 0
    hops: int = 0
    texts: int = 0  # text rows rebuilt from text records
    extracted: int = 0  # texts extracted now (no text record)
    already_indexed: int = 0
    skipped_records: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The public JSON form."""
        return {"files": self.files, "records": self.records, "captures": self.captures,
                "captured": self.captured, "failed": self.failed, "revisits": self.revisits,
                "hops": self.hops, "texts": self.texts, "extracted": self.extracted,
                "already_indexed": self.already_indexed, "skipped_records": self.skipped_records,
                "errors": self.errors, "ok": not self.errors}


def warc_files(warc_dir: Path) -> list[str]:
    """The WARC files of a WARC directory and of the store attached to it (``storage.store``), oldest
    first (collector's names start with their time)."""
    return warc_names(warc_dir)


def capture_count(archive: Archive) -> int:
    """How many capture rows the archive's database has."""
    with archive.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Capture)) or 0)


@dataclass
class _Payload:
    """A stored payload a revisit can point at."""

    capture_id: int | None  # None while its row waits in the batch
    location: RecordLocation
    sha256: str
    length: int
    # its TLS and proxy columns: a revisit without a metadata record of its own has these too
    # (storage.archive writes none when they are the same)
    tls: dict[str, Any] | None = None


@dataclass
class _Pending:
    """A capture row waiting in the batch, and what is known of it once it has an id."""

    record_id: str  # the main record's WARC-Record-ID (whole: the row's may be cut)
    row: dict[str, Any]
    hops: list[dict[str, Any]]
    payload: _Payload | None
    untexted: tuple[str, int, str, str] | None


@dataclass
class _State:
    """What indexing remembers across files: payloads by record id and by (key, sha), texts."""

    by_record: dict[str, _Payload] = field(default_factory=dict)
    by_target: dict[tuple[str, str], _Payload] = field(default_factory=dict)
    by_digest: dict[tuple[str, str], _Payload] = field(default_factory=dict)
    capture_of: dict[str, int] = field(default_factory=dict)  # record id -> capture id
    # capture id -> (payload file, offset, URL, response record id) of captures without a text yet
    untexted: dict[int, tuple[str, int, str, str]] = field(default_factory=dict)
    texts: list[TextEvent] = field(default_factory=list)
    # the stored form of the WARC-Record-IDs of this lookahead's events that have rows already
    # (found in the database, or indexed earlier in the lookahead)
    known: set[str] = field(default_factory=set)
    # final URL key -> the main record id of the latest page captured there (older files' requisites)
    pages: dict[str, str] = field(default_factory=dict)
    had_rows: bool = False
    batch: list[_Pending] = field(default_factory=list)


def _records(warc_dir: Path, names: Sequence[str], summary: IndexSummary,
             progress: Callable[[int], None] | None) -> Iterator[FileRecord]:
    for name in names:
        summary.files += 1
        for item in scan_file(open_warc(warc_dir, name)):
            if isinstance(item, ArchiveCorruptError):
                summary.errors.append({"file": name, "error": str(item)})
                break
            summary.records += 1
            yield FileRecord(name, item)
        if progress:
            progress(1)


def index_files(archive: Archive, names: Sequence[str], *, extract: Extract | None = None,
                progress: Callable[[int], None] | None = None) -> IndexSummary:
    """Index the records of these WARC files (names under the archive's WARC directory, in order).

    ``progress`` is called with 1 after each file. A torn or unreadable record ends its file's
    reading (the error is in the summary, the records before it are indexed).
    """
    summary = IndexSummary()
    state = _State()
    with archive.sessions() as session, session.begin():
        state.had_rows = session.scalar(select(Capture.id).limit(1)) is not None
        events = group_records(_records(archive.warc_dir, names, summary, progress),
                               summary.skipped_records)
        for chunk in _lookahead(events):
            # which of these records are indexed already: the rows before this run, and this run's
            # earlier chunks (flushed first), found through the index on warc_record_id
            _flush(session, state)
            state.known = _indexed(session, [rid for event in chunk if isinstance(event, CaptureEvent)
                                             and (rid := _record_id(event)) is not None])
            for event in chunk:
                if isinstance(event, TextEvent):
                    state.texts.append(event)
                    continue
                try:
                    _index_capture(session, event, state, summary)
                except ValueError as exc:  # a target URI no URL key can be made of
                    summary.errors.append({"file": _file_of(event), "error": (
                        f"{_file_of(event)}: a capture of {_url_of(event)!r} cannot be indexed "
                        f"({exc})")})
                if len(state.batch) >= _BATCH:
                    _flush(session, state)
        _flush(session, state)
        _index_texts(session, state, summary)
        if archive.ledger:  # the rebuilt rows' ledger entries, in their transaction (it starts here)
            adopt_rows(session)
    if extract is not None and state.untexted:
        _extract_missing(archive, state, extract, summary)
    return summary


_BATCH = 500  # capture rows inserted together
_LOOKAHEAD = 500  # capture events whose record ids are looked up together...
_LOOKAHEAD_BYTES = 32 * 2**20  # ...unless their records hold more bytes than this
_IN_LIMIT = 500  # ids per IN (...) (SQLite's parameter limit is 999 in old builds)


def _lookahead(events: Iterator[CaptureEvent | TextEvent]
               ) -> Iterator[list[CaptureEvent | TextEvent]]:
    """The events in chunks of up to ``_LOOKAHEAD`` capture events or ``_LOOKAHEAD_BYTES`` of
    records (memory stays bounded whatever the size of the archive or of the files)."""
    chunk: list[CaptureEvent | TextEvent] = []
    count = size = 0
    for event in events:
        chunk.append(event)
        if isinstance(event, CaptureEvent):
            count += 1
            size += sum(len(part.record.block) + len(part.record.payload)
                        for exchange in event.exchanges
                        for part in (exchange.response, exchange.request) if part is not None)
            if count >= _LOOKAHEAD or size >= _LOOKAHEAD_BYTES:
                yield chunk
                chunk, count, size = [], 0, 0
    if chunk:
        yield chunk


def _record_id(event: CaptureEvent) -> str | None:
    """The stored form of the id of the record a capture's row points at (None: no id)."""
    exchanges = event.exchanges
    main = (exchanges[-1].response if exchanges and exchanges[-1].response is not None
            else event.meta)
    if main is None or not main.location.record_id:
        return None  # a record without an id (not valid WARC) is never taken for another
    return str(storable_value(Capture.__table__, "warc_record_id", main.location.record_id))


def _indexed(session: Session, record_ids: list[str]) -> set[str]:
    """Those of ``record_ids`` (stored form) that a capture row has (indexed lookups, 500 a time)."""
    found: set[str] = set()
    wanted = sorted(set(record_ids))
    for start in range(0, len(wanted), _IN_LIMIT):
        found.update(session.scalars(select(Capture.warc_record_id).where(
            Capture.warc_record_id.in_(wanted[start:start + _IN_LIMIT]))))
    return found


def _file_of(event: CaptureEvent) -> str:
    some = event.meta or next((e.response or e.request for e in event.exchanges), None)
    return some.warc_file if some is not None else ""


def _url_of(event: CaptureEvent) -> str:
    return str(event.content.get("url") or (event.exchanges[0].url if event.exchanges else ""))


def _flush(session: Session, state: _State) -> None:
    """Insert the batch's capture rows (one statement), then their hops; give each its id."""
    if not state.batch:
        return
    batch, state.batch = state.batch, []
    stmt = insert(Capture).returning(Capture.id, sort_by_parameter_order=True)
    ids = list(session.scalars(stmt, [p.row for p in batch]))
    hops = []
    for pending, new_id in zip(batch, ids, strict=True):
        state.capture_of[pending.record_id] = new_id
        if pending.payload is not None:
            pending.payload.capture_id = new_id
        if pending.untexted is not None:
            state.untexted[new_id] = pending.untexted
        hops += [{**hop, "capture_id": new_id} for hop in pending.hops]
    if hops:
        session.execute(insert(CaptureHop), hops)


def _index_capture(session: Session, event: CaptureEvent, state: _State,
                   summary: IndexSummary) -> None:
    content = event.content
    exchanges = event.exchanges
    final = exchanges[-1].response if exchanges and exchanges[-1].response is not None else None
    main_item = final or event.resource or event.meta
    if main_item is None:
        return
    main = main_item.location
    stored_id = _record_id(event)
    if stored_id in state.known:
        summary.already_indexed += 1
        return
    if stored_id is not None:
        state.known.add(stored_id)
    url = content.get("url") or (exchanges[0].url if exchanges else main.target_uri)
    media = content.get("mode") == "media"  # storage.media's row: its own URL, no redirects
    final_url = (url if media else content.get("final_url") if event.meta is not None
                 else (final.location.target_uri if final else None))
    captured_at = (parse_warc_date(content["captured_at"]) if content.get("captured_at")
                   else parse_warc_date(main.date))
    item = SimpleNamespace(url=url, final_url=final_url, captured_at=captured_at)
    entries: list[list[Any]] = []
    for exchange in exchanges:
        for part in (exchange.response, exchange.request):
            if part is not None:
                entries.append(_entry(part.location, item))  # type: ignore[arg-type]
    for extra in (event.resource, event.meta):
        if extra is not None:
            entries.append(_entry(extra.location, item))  # type: ignore[arg-type]
    row = (_resource_values(event.resource) if event.resource is not None
           else _row_values(event, final, main, state, session))
    inherited = row.pop("inherited", None)  # a revisit's original's TLS and proxy columns
    if not REVISIT_METADATA.items() <= event.info.items():
        inherited = None  # an older file: a revisit without metadata was a plain http fetch
    key = url_key(url)
    row.update({
        "url": url, "url_key": key, "captured_at": captured_at,
        "outcome": content.get("outcome") or "captured", "reason": content.get("reason"),
        "reason_detail": content.get("reason_detail"), "final_url": final_url,
        "final_url_key": final_key(key, url, final_url),
        "redirect_chain": ([] if media else content.get("redirect_chain") if event.meta is not None
                           else [{"url": final_url, "status": row["http_status"]}]),
        "warc_file": main.warc_file, "warc_offset": main.offset, "warc_length": main.length,
        "warc_record_id": main.record_id, "records": _compact(entries, main),
        "ignore_robots": bool(content.get("ignore_robots", event.info.get("robots") == "ignore")),
        "allow_private": bool(content.get("allow_private",
                                          event.info.get("private-addresses") == "allowed")),
        # None when the warcinfo says it, as storage.archive stores it (Archive.row_user_agent)
        "user_agent": None if event.info.get("http-header-user-agent") else _user_agent(exchanges),
        "run_id": event.info.get("run-id"),
        **(_tls_columns(content) if event.meta is not None or inherited is None else inherited),
        "purpose": _purpose(content),
        # an attempt without a metadata record is a plain page fetched over HTTP (storage.archive)
        "mode": _text(content.get("mode")) if event.meta is not None else "http",
        "mode_reason": _text(content.get("mode_reason")),
        "page_id": _page_of(session, content, state),
    })
    row = storable_row(Capture.__table__, row, note="reason_detail")
    row["redirect_chain"] = stored_chain(row)  # as storage.archive stores it
    summary.captures += 1
    if row["outcome"] == "captured":
        summary.captured += 1
    else:
        summary.failed += 1
    if row["revisit_of"] is not None:
        summary.revisits += 1
    if row["outcome"] == "captured" and row["page_id"] is None and not row["purpose"]:
        state.pages[row["final_url_key"] or key] = main.record_id
    payload = untexted = None
    if final is not None and row["revisit_of"] is None and row["sha256"]:
        payload = _Payload(None, final.location, row["sha256"], row["content_length"] or 0,
                           {name: row[name] for name in _TLS_NAMES})
        state.by_record.setdefault(final.location.record_id, payload)
        state.by_target.setdefault((final.location.target_uri, final.location.date), payload)
        state.by_digest.setdefault((key, row["sha256"]), payload)
        if row["outcome"] == "captured" and extracted_type(row["content_type"]):
            untexted = (final.location.warc_file, final.location.offset, final_url or url,
                        final.location.record_id)
    values: list[dict[str, Any]] = []
    if row["outcome"] == "captured" and not row["purpose"]:  # a probe's hops are no mementos
        hops = [Hop(url=e.url, at=parse_warc_date(e.response.location.date),
                    status=e.response.record.http_status, warc_file=e.response.warc_file,
                    warc_offset=e.response.record.offset, warc_length=e.response.record.length,
                    sha256=row["sha256"] if e.response is final else body_sha256(e.response.record),
                    content_type=header_value(e.response.record.http_headers, "content-type"))
                for e in exchanges if e.response is not None]
        values = [storable_row(CaptureHop.__table__, {**hop, "capture_id": 0})
                  for hop in hop_rows(key, hops)]
        summary.hops += len(values)
    state.batch.append(_Pending(main.record_id, row, values, payload, untexted))


_TLS_NAMES = ("tls_verified", "tls_fingerprint", "tls_issuer", "tls_detail", "proxy")


def _tls_columns(content: dict[str, Any]) -> dict[str, Any]:
    """The row's TLS and proxy columns from its capture metadata record's ``tls`` and ``proxy``
    (what ``storage.archive`` wrote them from; None over http, for a plain page fetch and for
    another tool's records)."""
    tls = content.get("tls")
    tls = tls if isinstance(tls, dict) else {}
    verified = tls.get("verified")
    proxy = content.get("proxy")
    return {"tls_verified": verified if isinstance(verified, bool) else None,
            "tls_fingerprint": _text(tls.get("fingerprint")), "tls_issuer": _text(tls.get("issuer")),
            "tls_detail": _text(tls.get("detail")), "proxy": _text(proxy)}


def _page_of(session: Session, content: dict[str, Any], state: _State) -> int | None:
    """The new row id of the page a requisite or browser sub-resource was loaded for: the capture
    whose main record its metadata record names (``page_record``), indexed earlier in this run or
    before it. Files written before ``page_record`` existed: an HTTP requisite's context names its
    page's URL (``requisite_of``), the page captured there last; a browser sub-resource stays
    unlinked."""
    record = content.get("page_record")
    if not isinstance(record, str):
        context = content.get("context")
        page_url = context.get("requisite_of") if isinstance(context, dict) else None
        if content.get("page_id") is None or not isinstance(page_url, str):
            return None
        try:
            record = state.pages.get(url_key(page_url))
        except ValueError:
            return None
        if record is None:
            return None
    if record not in state.capture_of and any(p.record_id == record for p in state.batch):
        _flush(session, state)  # the page's row waits in the batch: it needs its id
    found = state.capture_of.get(record)
    if found is None and state.had_rows:
        found = session.scalar(select(Capture.id).where(
            Capture.warc_record_id == storable_value(Capture.__table__, "warc_record_id", record)))
    return found


def _purpose(content: dict[str, Any]) -> str | None:
    """``probe`` for a check's soft-404 probe (its metadata record's context says so), else None."""
    context = content.get("context")
    return PROBE if isinstance(context, dict) and context.get("probe") else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _user_agent(exchanges: list[Any]) -> str | None:
    for exchange in exchanges:
        if exchange.request is not None:
            value = header_value(exchange.request.record.http_headers, "user-agent")
            if value:
                return value
    return None


def _row_values(event: CaptureEvent, final: FileRecord | None, main: RecordLocation, state: _State,
                session: Session) -> dict[str, Any]:
    """The response columns of a capture row: status, type, length, sha256, payload, revisit."""
    if final is None:
        return {"http_status": None, "content_type": None, "content_length": None, "sha256": None,
                "payload_file": None, "payload_offset": None, "payload_length": None,
                "revisit_of": None, "ip_address": None}
    record = final.record
    values: dict[str, Any] = {
        "http_status": record.http_status,
        "content_type": header_value(record.http_headers, "content-type"),
        "ip_address": record.headers.get("WARC-IP-Address"), "revisit_of": None}
    if record.type == "revisit":
        sha = payload_sha256(record.headers.get("WARC-Payload-Digest"))
        original = (state.by_record.get(record.headers.get("WARC-Refers-To", ""))
                    or state.by_target.get((target_uri(record.headers, "WARC-Refers-To-Target-URI"),
                                            record.headers.get("WARC-Refers-To-Date", "")))
                    or (state.by_digest.get((url_key(main.target_uri), sha)) if sha else None)
                    or (_stored_original(session, main.target_uri, sha) if state.had_rows
                        else None))
        if original is not None and original.capture_id is None:
            _flush(session, state)  # the original's row waits in the batch: it needs its id
        if original is None:  # the original is in no file indexed: the payload is unknown
            values.update(sha256=sha, content_length=None, payload_file=None, payload_offset=None,
                          payload_length=None)
        else:
            values.update(sha256=original.sha256, content_length=original.length,
                          payload_file=original.location.warc_file,
                          payload_offset=original.location.offset,
                          payload_length=original.location.length, revisit_of=original.capture_id,
                          inherited=original.tls)
        return values
    values.update(sha256=hashlib.sha256(record.payload).hexdigest(),
                  content_length=len(record.payload), payload_file=final.warc_file,
                  payload_offset=record.offset, payload_length=record.length)
    return values


def _resource_values(resource: FileRecord) -> dict[str, Any]:
    """The response columns of a media download's row: its resource record is the payload."""
    record, loc = resource.record, resource.location
    return {"http_status": None, "content_type": record.headers.get("Content-Type"),
            "content_length": len(record.payload or record.block),
            "sha256": hashlib.sha256(record.payload or record.block).hexdigest(),
            "payload_file": resource.warc_file, "payload_offset": loc.offset,
            "payload_length": loc.length, "revisit_of": None, "ip_address": None}


def _stored_original(session: Session, uri: str, sha: str | None) -> _Payload | None:
    """The earliest stored payload of ``uri``'s key with sha256 ``sha`` (indexed before this run)."""
    if not sha:
        return None
    row = session.execute(
        select(Capture.id, Capture.sha256, Capture.content_length, Capture.payload_file,
               Capture.payload_offset, Capture.payload_length,
               *(Capture.__table__.c[name] for name in _TLS_NAMES))
        .where(Capture.url_key == url_key(uri), Capture.sha256 == sha,
               Capture.revisit_of.is_(None), Capture.payload_file.is_not(None))
        .order_by(Capture.captured_at, Capture.id).limit(1)).first()
    if row is None:
        return None
    location = RecordLocation(warc_file=row.payload_file, offset=row.payload_offset or 0,
                              length=row.payload_length or 0)
    return _Payload(row.id, location, row.sha256, row.content_length or 0,
                    {name: getattr(row, name) for name in _TLS_NAMES})


def _index_texts(session: Session, state: _State, summary: IndexSummary) -> None:
    """The extraction rows (and search index) of the text records that refer to indexed captures."""
    items: list[ExtractionInput] = []
    rows: list[dict[str, Any]] = []
    for event in state.texts:
        capture_id = state.capture_of.get(event.record.record.headers.get("WARC-Refers-To", ""))
        if capture_id is None or capture_id not in state.untexted:
            continue  # a text of a capture indexed earlier, or of none
        del state.untexted[capture_id]
        content, loc = event.content, event.record.location
        text = content.get("text")
        item = ExtractionInput(
            capture_id=capture_id, url=loc.target_uri, status="ok",
            extractor=content.get("extractor") or "trafilatura", text=text,
            text_sha256=content.get("text_sha256"), title=content.get("title"),
            published=content.get("published"), language=content.get("language"),
            extracted_at=parse_warc_date(loc.date))
        items.append(item)
        rows.append(storable_row(Extraction.__table__, {
            "capture_id": capture_id, "status": "ok", "error": None,
            "text_sha256": item.text_sha256, "text_length": len(text) if text is not None else None,
            "title": item.title, "published": item.published, "language": item.language,
            "extracted_at": item.extracted_at, "warc_file": loc.warc_file,
            "warc_offset": loc.offset, "warc_length": loc.length}))
    if rows:
        session.execute(insert(Extraction), rows)
        index_texts(session, items)
        summary.texts += len(rows)


def _extract_missing(archive: Archive, state: _State, extract: Extract,
                     summary: IndexSummary) -> None:
    """Extract the texts the files lack and commit them (new text records, rows, search index),
    200 at a time."""
    jobs = sorted(state.untexted.items())
    for start in range(0, len(jobs), 200):
        chunk = jobs[start:start + 200]
        results = extract(archive.warc_dir, [(name, offset, url) for _, (name, offset, url, _) in chunk])
        items = [ExtractionInput(
            capture_id=capture_id, url=url, status=result.get("status", "error"),
            error=result.get("error"), extractor=result.get("extractor") or "trafilatura",
            text=result.get("text"), text_sha256=result.get("text_sha256"),
            title=result.get("title"), published=result.get("published"),
            language=result.get("language"), extracted_at=archive.clock(),
            refers_to=record_id)
            for (capture_id, (_, _, url, record_id)), result in zip(chunk, results, strict=True)]
        archive.commit_extractions(items)
        summary.extracted += len(items)

