"""The archive: WARC files plus the metadata rows that point into them, written in one crash-safe step.

Every ``commit_*`` call writes WARC records first, fsyncs the file, and only then commits the rows that
point at those records, so a committed row never points at data that is not on disk.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol, cast

from sqlalchemy import Table, delete, insert, select, tuple_
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from storage import jobs, ledger, queries
from storage.canonical import url_key
from storage.database import connect
from storage.hops import Hop, final_key, hop_rows, stored_chain
from storage.models import EXTRACTION_PENDING as PENDING
from storage.models import Capture, CaptureHop, Extraction
from storage.records import (
    CaptureInput,
    CaptureRecord,
    Exchange,
    ExtractionInput,
    RecordLocation,
)
from storage.search import index_texts
from storage.storable import storable_row
from storage.upload import uploader
from storage.warcfile import (
    CAPTURE_URN,
    TEXT_URN,
    WarcFileWriter,
    digest_label,
    metadata_uri,
    new_record_id,
    short_record_id,
    warc_date,
)
from storage.warcread import read_record_at

__all__ = ["Archive", "ArchiveSettings", "payload_digest"]

DEFAULT_GZIP_LEVEL = 3
_EXTRACTIONS = cast(Table, Extraction.__table__)  # rows inserted by Core (no ORM bulk machinery)

log = logging.getLogger(__name__)


class ArchiveSettings(Protocol):
    """What opening an archive needs from a configuration (``collector.config.Config`` has it)."""

    @property
    def db_url(self) -> str: ...
    @property
    def warc_dir(self) -> Path: ...
    @property
    def warc_max_bytes(self) -> int: ...
    @property
    def warc_gzip_level(self) -> int: ...


def payload_digest(body: bytes) -> tuple[str, str]:
    """(hex sha256, WARC ``sha256:BASE32`` label) of a payload."""
    digest = hashlib.sha256(body).digest()
    return digest.hex(), digest_label(digest)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


class Archive:
    """A WARC directory and a metadata database, used together."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        warc_dir: Path,
        *,
        warc_max_bytes: int = 1024**3,
        gzip_level: int = DEFAULT_GZIP_LEVEL,
        software: str = "collector",
        clock: Callable[[], datetime] | None = None,
        record_id: Callable[[], str] = new_record_id,
        info: dict[str, str] | None = None,
        append: bool = False,
        ledger: bool = True,
        worker: str = "",
    ) -> None:
        self.sessions = sessions
        self.warc_dir = Path(warc_dir)
        self.clock = clock or (lambda: datetime.now(UTC))
        # worker: in the names of the files this archive writes (storage.store); each file it closes
        # goes to the object store attached to warc_dir, if any (storage.upload)
        self._writer_args: dict[str, Any] = {
            "max_bytes": warc_max_bytes, "gzip_level": gzip_level, "software": software, "clock": self.clock,
            "record_id": record_id, "info": info, "append": append, "worker": worker,
            "on_close": uploader(self.warc_dir),
        }
        self._writer: WarcFileWriter | None = None
        self.ledger = ledger  # append ledger entries in the rows' transactions (storage.ledger)

    @classmethod
    def open(cls, database_url: str, warc_dir: Path, *, mmap: bool = True, **kwargs: Any) -> Archive:
        """Open (and migrate) the database at ``database_url`` with WARCs under ``warc_dir``
        (``mmap``: see ``storage.database.make_engine``)."""
        return cls(connect(database_url, mmap=mmap), warc_dir, **kwargs)

    @classmethod
    def from_settings(cls, settings: ArchiveSettings, *, mmap: bool = True, **kwargs: Any) -> Archive:
        """The one way to open the archive a configuration names (database, WARC store and its limits);
        it continues the home's open WARC file (``append``, see ``storage.warcfile``)."""
        kwargs.setdefault("append", True)
        kwargs.setdefault("warc_max_bytes", settings.warc_max_bytes)
        kwargs.setdefault("gzip_level", settings.warc_gzip_level)
        kwargs.setdefault("ledger", getattr(settings, "ledger", True))
        kwargs.setdefault("worker", getattr(settings, "worker_label", ""))
        return cls.open(settings.db_url, settings.warc_dir, mmap=mmap, **kwargs)

    @property
    def writer(self) -> WarcFileWriter:
        """The WARC writer of this archive (a file is opened on first write: the directory's open
        file when the archive appends, else a new one)."""
        if self._writer is None:
            self._writer = WarcFileWriter(self.warc_dir, **self._writer_args)
        return self._writer

    def row_user_agent(self, agent: str | None) -> str | None:
        """The ``user_agent`` column of a row fetched as ``agent``: None when that is the User-Agent
        the warcinfo record its WARC records name says the run fetched as (``http-header-user-agent``;
        the request records hold the header as sent), so an unread column does not repeat it."""
        run_agent = (self._writer_args.get("info") or {}).get("http-header-user-agent")
        return None if agent is not None and agent == run_agent else agent

    def close(self) -> None:
        """Close the current WARC file and the database pool."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.sessions.kw["bind"].dispose()

    # -- writing captures ----------------------------------------------------------------------
    def commit_captures(self, inputs: Sequence[CaptureInput]) -> list[CaptureRecord]:
        """Archive a batch of fetch attempts: WARC records, fsync, then one transaction of rows.

        A final response whose payload is already archived for the same URL key (earlier, or earlier
        in this batch) is written as a revisit record pointing at the original.

        Values from the network are made storable first (``storage.storable``). When the group's
        transaction fails anyway, its rows are committed one by one: a row the database refuses
        alone becomes a ``failed`` row with reason ``unstorable`` (its WARC records are kept), and
        the others are committed as they are. A database that is down or locked fails the call.
        """
        planned = [_plan(item) for item in inputs]
        rows: list[dict[str, Any]] = []
        hops: list[list[dict[str, Any]]] = []
        digests: list[list[str | None]] = []  # the block digests of each row's records
        in_batch: dict[int, int] = {}  # row index -> index of the same-batch original
        synced = False
        with self.sessions() as session:
            try:
                with session.begin():
                    wanted = {(p.key, p.sha_hex) for p in planned if p.dedup}
                    originals = _find_originals(session, self.warc_dir, wanted)
                    pages = _page_records(session, {p.item.page_id for p in planned
                                                    if p.item.page_id is not None})
                    for index, plan in enumerate(planned):
                        original = originals.get((plan.key, plan.sha_hex)) if plan.dedup else None
                        row, pending, chain, pinned = self._write_capture(
                            plan, original, pages.get(plan.item.page_id or 0))
                        hops.append(chain)
                        digests.append(pinned)
                        if plan.dedup and original is None and pending is not None:
                            originals[(plan.key, plan.sha_hex)] = _Original(
                                None, pending, index, _tls_columns(plan.last))
                        if original is not None and original.id is None:
                            in_batch[index] = original.batch_index
                        rows.append(row)
                    self.writer.sync()
                    synced = True
                    ids = self._insert_rows(session, rows, in_batch)
                    self._insert_hops(session, rows, hops, ids)
                    self._append_ledger(session, rows, ids, digests)
                    _ack_jobs(session, planned, rows, ids, self.clock())
            except _ROW_ERRORS as exc:
                if not synced or isinstance(exc, _DATABASE_DOWN):
                    raise
                # one row the database refuses must not take the others with it
                log.warning("a group commit of %d captures failed (%s: %s); committing them one "
                            "by one", len(rows), type(exc).__name__, _error_text(exc))
                ids = self._insert_each(session, rows, in_batch, planned, digests)
                with session.begin():
                    self._insert_hops(session, rows, hops, ids)
            texts = _extractions_of(session, {r["revisit_of"] for r in rows if r["revisit_of"]})
        # the records are built from the values just inserted (reading the rows back costs more)
        return [queries.capture_record(SimpleNamespace(**row, id=new_id),
                                       texts.get(row["revisit_of"]))
                for row, new_id in zip(rows, ids, strict=True)]

    @staticmethod
    def _insert_rows(session: Session, rows: list[dict[str, Any]], in_batch: dict[int, int]
                     ) -> list[int]:
        """Insert the rows (those revisiting a row of this batch after it); their ids in order."""
        ids: list[int] = [0] * len(rows)
        for phase in (False, True):
            chosen = [i for i in range(len(rows)) if (i in in_batch) is phase]
            if not chosen:
                continue
            for i in chosen:
                if i in in_batch:
                    rows[i]["revisit_of"] = ids[in_batch[i]]
            stmt = insert(Capture).returning(Capture.id, sort_by_parameter_order=True)
            for i, new_id in zip(chosen, session.scalars(stmt, [rows[i] for i in chosen]),
                                 strict=True):
                ids[i] = new_id
        return ids

    @staticmethod
    def _insert_hops(session: Session, rows: list[dict[str, Any]], hops: list[list[dict[str, Any]]],
                     ids: list[int]) -> None:
        """The ``capture_hops`` rows of the captures just inserted (none for a row made failed)."""
        values = [storable_row(CaptureHop.__table__, {**hop, "capture_id": new_id})
                  for row, chain, new_id in zip(rows, hops, ids, strict=True)
                  if row["outcome"] == "captured" for hop in chain]
        if values:
            session.execute(insert(CaptureHop), values)

    def _insert_each(self, session: Session, rows: list[dict[str, Any]],
                     in_batch: dict[int, int], planned: list[_Plan],
                     digests: list[list[str | None]]) -> list[int]:
        """Insert the rows one transaction each; a row refused even alone is replaced by a
        ``failed`` row (reason ``unstorable``) that keeps its WARC records and says why."""
        ids: list[int] = []
        for index, row in enumerate(rows):
            if index in in_batch:
                row["revisit_of"] = ids[in_batch[index]]
            try:
                with session.begin():
                    [new_id] = self._insert_rows(session, [row], {})
                    self._append_ledger(session, [row], [new_id], digests[index:index + 1])
                    _ack_jobs(session, [planned[index]], [row], [new_id], self.clock())
            except _ROW_ERRORS as exc:
                if isinstance(exc, _DATABASE_DOWN):
                    raise
                log.warning("the capture row of %s cannot be stored (%s: %s); it is recorded as "
                            "failed", row["url"], type(exc).__name__, _error_text(exc))
                rows[index] = row = _unstorable(row, exc)
                with session.begin():
                    [new_id] = self._insert_rows(session, [row], {})
                    self._append_ledger(session, [row], [new_id], digests[index:index + 1])
                    _ack_jobs(session, [planned[index]], [row], [new_id], self.clock())
            ids.append(new_id)
        return ids

    def _append_ledger(self, session: Session, rows: list[dict[str, Any]], ids: list[int],
                       digests: list[list[str | None]]) -> None:
        """The ledger entries of the capture rows just inserted, in their transaction: version 2,
        pinning the block digest of each of the row's records (``digests``)."""
        if self.ledger:
            ledger.append_entries(session, ledger.CAPTURE, [
                (new_id, {**ledger.capture_fields(row), ledger.BLOCK_DIGESTS: pinned})
                for row, new_id, pinned in zip(rows, ids, digests, strict=True)])

    def checkpoint(self, signer: ledger.Signer | None = None, *, force: bool = False
                   ) -> ledger.Checkpoint | None:
        """Record a ledger checkpoint (see ``storage.ledger.record_checkpoint``)."""
        return ledger.record_checkpoint(self.sessions, signer=signer, clock=self.clock, force=force)

    def _write_capture(self, plan: _Plan, original: _Original | None, page_record: str | None = None
                       ) -> tuple[dict[str, Any], RecordLocation | None, list[dict[str, Any]],
                                  list[str | None]]:
        """Write one attempt's WARC records; the values of its captures row, where its new
        payload record is (None when it wrote none), its ``capture_hops`` rows, and the block
        digest of each of its ``records`` (for its ledger entry). ``page_record``: the
        WARC-Record-ID of the page a requisite or sub-resource was loaded for."""
        item, writer = plan.item, self.writer
        entries: list[list[Any]] = []
        block_digests: list[str] = []  # of each of ``entries``
        answered: list[Hop] = []
        main: RecordLocation | None = None
        payload_at: RecordLocation | None = None
        request: RecordLocation | None = None
        last_index = len(item.exchanges) - 1
        for index, exchange in enumerate(item.exchanges):
            final = index == last_index and exchange.status is not None
            if final and original is not None:
                ref = original.location
                response, request = writer.write_exchange(
                    exchange, revisit_of=ref, revisit_date=ref.date,
                    payload_digest=plan.digest_label)
                payload_at = ref
            else:
                response, request = writer.write_exchange(
                    exchange, payload_digest=plan.digest_label if final else None)
                if final:
                    payload_at = response
            if response is not None:
                answered.append(Hop(
                    url=exchange.url, at=exchange.requested_at, status=exchange.status,
                    warc_file=response.warc_file, warc_offset=response.offset,
                    warc_length=response.length,
                    sha256=plan.sha_hex if final else hashlib.sha256(exchange.body).hexdigest(),
                    content_type=(plan.content_type if final
                                  else _header(exchange.response_headers, "Content-Type"))))
                entries.append(_entry(response, item))
                block_digests.append(response.block_digest)
                if final:
                    main = response
            entries.append(_entry(request, item))
            block_digests.append(request.block_digest)
        for attachment in item.attachments:  # a browser capture's screenshot, DOM, page info
            event = main or request
            attached = writer.write_resource(
                attachment.uri, attachment.body, content_type=attachment.content_type,
                moment=item.captured_at, concurrent_to=event.record_id if event else None)
            entries.append(_entry(attached, item))
            block_digests.append(attached.block_digest)
        plain = (_says_nothing_new(item, plan, original) if original is not None
                 else _self_evident(item) and queries.is_html_type(plan.content_type))
        wrote_meta = main is None or not plain
        if wrote_meta:
            # the outcome, reason and run flags of anything but a plain page fetch; a plain HTML
            # page's outcome goes in its extracted-text record, a revisit's is its original's (and
            # so are its TLS and proxy when they are the original's: reindex takes them from there).
            # Its target is a urn: naming the page (not the page's URL: see storage.warcfile.CAPTURE_URN),
            # written in the same capture event as the final response (or, without one, the request)
            event = main or request
            meta = writer.write_metadata(metadata_uri(CAPTURE_URN, item.final_url or item.url),
                                         _meta_content(item, plan, page_record), moment=item.captured_at,
                                         refers_to=main.record_id if main else None,
                                         concurrent_to=event.record_id if event else None)
            entries.append(_entry(meta, item))
            block_digests.append(meta.block_digest)
            main = main or meta
        if main is None:  # never: an attempt without a response always has its metadata record
            raise AssertionError("a capture without a main record")
        final_exchange = plan.final
        row = {
            "url": item.url, "url_key": plan.key, "captured_at": item.captured_at.astimezone(UTC),
            "outcome": item.outcome, "reason": item.reason, "reason_detail": item.reason_detail,
            "http_status": final_exchange.status if final_exchange else None,
            "final_url": item.final_url,
            "final_url_key": final_key(plan.key, item.url, item.final_url),
            "redirect_chain": item.redirect_chain,
            "content_type": plan.content_type,
            "content_length": len(final_exchange.body) if final_exchange else None,
            "sha256": plan.sha_hex,
            "warc_file": main.warc_file, "warc_offset": main.offset, "warc_length": main.length,
            "warc_record_id": main.record_id,
            "payload_file": payload_at.warc_file if payload_at else None,
            "payload_offset": payload_at.offset if payload_at else None,
            "payload_length": payload_at.length if payload_at else None,
            "revisit_of": original.id if original is not None else None,
            "records": _compact(entries, main),
            "ip_address": final_exchange.ip_address if final_exchange else None,
            "ignore_robots": item.ignore_robots, "allow_private": item.allow_private,
            "user_agent": self.row_user_agent(item.user_agent), "run_id": item.run_id,
            "fetch_seconds": item.fetch_seconds, "purpose": item.purpose,
            "mode": _row_mode(item, wrote_meta), "mode_reason": item.mode_reason,
            "page_id": item.page_id, **_tls_columns(plan.last),
        }
        # the network's values as the database can hold them (the WARC has them as received)
        row = storable_row(Capture.__table__, row, note="reason_detail")
        row["redirect_chain"] = stored_chain(row)  # null when it was not redirected
        # a probe's hops are no mementos of the URLs it went through (often the site's home page)
        chain = hop_rows(plan.key, answered) if item.outcome == "captured" and not item.purpose else []
        pinned = [digest or None for digest in block_digests]
        return row, (payload_at if original is None else None), chain, pinned

    def store_document(self, uri: str, data: bytes, content_type: str) -> RecordLocation:
        """Archive a document that was not fetched (a report file) as a WARC resource record."""
        location = self.writer.write_resource(uri, data, content_type=content_type,
                                              moment=self.clock())
        self.writer.sync()
        return location

    # -- writing extractions -------------------------------------------------------------------
    def commit_extractions(self, inputs: Sequence[ExtractionInput]) -> None:
        """Archive extracted texts as WARC metadata records, fsync, then commit their rows.

        The text record also says the capture's outcome, so a plain page fetch needs no metadata
        record of its own.
        """
        with self.sessions() as session, session.begin():
            ids = {i.capture_id for i in inputs}
            # a capture archived without extraction (status "pending") gets its text now
            session.execute(delete(Extraction).where(Extraction.capture_id.in_(ids),
                                                     Extraction.status == PENDING))
            done = set(session.scalars(select(Extraction.capture_id).where(
                Extraction.capture_id.in_(ids))))
            fresh = []
            for item in inputs:
                if item.capture_id in done:
                    continue  # already extracted (a crashed run's work was finished elsewhere)
                done.add(item.capture_id)
                fresh.append(item)
            written = [self._write_extraction(item) for item in fresh]
            rows = [row for row, _ in written]
            if rows:  # Core executemany: the ORM's bulk insert cost ~0.1 ms a row here
                session.execute(insert(_EXTRACTIONS), rows)
                if self.ledger:  # version 2: pinning the text record's block digest
                    ledger.append_entries(session, ledger.TEXT, [
                        (r["capture_id"], {**ledger.text_fields(r), ledger.TEXT_BLOCK_DIGEST: pinned})
                        for r, pinned in written])
            index_texts(session, fresh)  # full-text index, same transaction (issue 6)
            self.writer.sync()

    def mark_extractions_pending(self, capture_ids: Sequence[int], at: datetime) -> None:
        """Record that these captures were archived without extraction (status ``pending``, no
        text): ``collector extract --pending`` extracts them; a capture run does not."""
        if not capture_ids:
            return
        with self.sessions() as session, session.begin():
            done = set(session.scalars(select(Extraction.capture_id).where(
                Extraction.capture_id.in_(set(capture_ids)))))
            rows = [storable_row(Extraction.__table__, {"capture_id": capture_id, "status": PENDING,
                                                        "extracted_at": at})
                    for capture_id in dict.fromkeys(capture_ids) if capture_id not in done]
            if rows:
                session.execute(insert(Extraction), rows)

    def _write_extraction(self, item: ExtractionInput) -> tuple[dict[str, Any], str | None]:
        """Write an extracted text's WARC record (when it has a text): its extractions row, and the
        record's block digest (for its ledger entry)."""
        loc = None
        if item.status == "ok":
            content = {"type": "extracted-text", "extractor": item.extractor, "outcome": "captured",
                       "title": item.title, "published": item.published,
                       "language": item.language, "text_sha256": item.text_sha256,
                       "text": item.text}
            loc = self.writer.write_metadata(metadata_uri(TEXT_URN, item.url), content,
                                             moment=item.extracted_at, refers_to=item.refers_to)
        row = storable_row(Extraction.__table__, {
                "capture_id": item.capture_id, "status": item.status, "error": item.error,
                "text_sha256": item.text_sha256,
                "text_length": len(item.text) if item.text is not None else None,
                "title": item.title, "published": item.published, "language": item.language,
                "extracted_at": item.extracted_at,
                "warc_file": loc.warc_file if loc else None,
                "warc_offset": loc.offset if loc else None,
                "warc_length": loc.length if loc else None})
        return row, (loc.block_digest or None) if loc else None


# what a refused insert raises: the driver's errors (SQLAlchemy wraps them, and a value it cannot
# bind or serialize), and what sqlite3 raises unwrapped for an integer it cannot bind
_ROW_ERRORS = (StatementError, OverflowError, ValueError, TypeError)
# ... and the ones that say the database, not a row, is the problem: nothing to retry row by row
_DATABASE_DOWN = (OperationalError, InterfaceError)
# a row refused by the database keeps only what this code computed (keys, times, digests, WARC
# places); what came from the network goes
_UNSTORABLE_CLEARED: dict[str, Any] = {
    "http_status": None, "final_url": None, "final_url_key": None,
    "redirect_chain": [], "content_type": None, "ip_address": None}


def _ack_jobs(session: Session, planned: Sequence[_Plan], rows: list[dict[str, Any]],
              ids: list[int], now: datetime) -> None:
    """In the rows' transaction: the job items (``context["job_item"]``, a capture worker's) these
    capture rows answer are marked done or failed (``storage.jobs``)."""
    marks = [(int(plan.item.context["job_item"]), new_id, str(row["outcome"]))
             for plan, row, new_id in zip(planned, rows, ids, strict=True)
             if plan.item.context.get("job_item") is not None]
    jobs.mark_answered(session, marks, now=now)


def _error_text(exc: BaseException) -> str:
    """The database's own message (a wrapped error's text would repeat the statement)."""
    return str(getattr(exc, "orig", None) or exc)


def _unstorable(row: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The ``failed`` row that stands for ``row`` when the database refuses it."""
    detail = (f"the database refused this attempt's row ({type(exc).__name__}: {_error_text(exc)}); "
              "the WARC records keep what was received")
    return storable_row(Capture.__table__, {
        **row, **_UNSTORABLE_CLEARED, "outcome": "failed", "reason": "unstorable",
        "reason_detail": detail})


@dataclass(frozen=True)
class _Plan:
    """One attempt with what is known before writing: its key, final exchange and payload digest."""

    item: CaptureInput
    key: str
    final: Exchange | None
    sha_hex: str | None
    digest_label: str | None
    content_type: str | None

    @property
    def last(self) -> Exchange | None:
        """The last exchange that got an answer (the final one, or the last hop before a failure)."""
        return next((e for e in reversed(self.item.exchanges) if e.status is not None), None)

    @property
    def dedup(self) -> bool:
        """True when an identical earlier payload would make this a revisit."""
        return bool(self.final is not None and self.final.body and not self.final.truncated)


def _plan(item: CaptureInput) -> _Plan:
    final = item.exchanges[-1] if item.exchanges and item.exchanges[-1].status is not None else None
    sha_hex, label = payload_digest(final.body) if final is not None else (None, None)
    return _Plan(item=item, key=url_key(item.url), final=final, sha_hex=sha_hex,
                 digest_label=label,
                 content_type=_header(final.response_headers, "Content-Type") if final else None)


@dataclass(frozen=True)
class _Original:
    """The stored response a revisit points at (``id`` None: a row of the batch being written)."""

    id: int | None
    location: RecordLocation
    batch_index: int = -1
    tls: dict[str, Any] | None = None  # its TLS and proxy columns (``_tls_columns``)


def _original_location(warc_dir: Path, row: Any) -> RecordLocation:
    """Where ``row``'s payload record is, with its WARC-Record-ID, WARC-Date and target URI."""
    for rec in queries.expand_records(row):
        if (rec.get("file") == row.payload_file and rec.get("offset") == row.payload_offset
                and rec.get("id") and rec.get("date")):
            return RecordLocation(warc_file=row.payload_file, offset=row.payload_offset,
                                  length=row.payload_length, record_type="response",
                                  record_id=rec["id"], target_uri=rec["uri"], date=rec["date"])
    record = read_record_at(warc_dir, row.payload_file, row.payload_offset)  # not listed: read it
    return RecordLocation(
        warc_file=row.payload_file, offset=row.payload_offset, length=row.payload_length,
        record_type="response", record_id=record.headers.get("WARC-Record-ID", ""),
        target_uri=record.headers.get("WARC-Target-URI") or row.final_url or row.url,
        date=record.headers.get("WARC-Date", ""))


def _find_originals(session: Session, warc_dir: Path, wanted: set[tuple[str, str | None]]
                    ) -> dict[tuple[str, str | None], _Original]:
    """For each (url key, sha256): the earliest stored non-revisit response with that payload."""
    found: dict[tuple[str, str | None], _Original] = {}
    pairs = [pair for pair in wanted if pair[1]]
    for start in range(0, len(pairs), 200):
        stmt = (select(Capture.id, Capture.url_key, Capture.sha256, Capture.payload_file,
                       Capture.payload_offset, Capture.payload_length, Capture.warc_file,
                       Capture.warc_offset, Capture.warc_record_id, Capture.final_url, Capture.url,
                       Capture.captured_at, Capture.records, *_TLS_COLUMNS)
                .where(tuple_(Capture.url_key, Capture.sha256).in_(pairs[start:start + 200]),
                       Capture.revisit_of.is_(None), Capture.payload_file.is_not(None))
                .order_by(Capture.captured_at, Capture.id))
        for row in session.execute(stmt):
            if (row.url_key, row.sha256) not in found:
                found[(row.url_key, row.sha256)] = _Original(
                    row.id, _original_location(warc_dir, row), tls={
                        column.key: getattr(row, column.key) for column in _TLS_COLUMNS})
    return found


def _entry(loc: RecordLocation, item: CaptureInput) -> list[Any]:
    """A ``records`` entry: [type, offset, length, short id, {file, uri, date unless the row's}]."""
    extra = {"file": loc.warc_file}
    if loc.target_uri and loc.target_uri != (item.final_url or item.url):
        extra["uri"] = loc.target_uri
    if loc.date and loc.date != warc_date(item.captured_at):
        extra["date"] = loc.date
    return [loc.record_type, loc.offset, loc.length, short_record_id(loc.record_id), extra]


def _compact(entries: list[list[Any]], main: RecordLocation) -> list[list[Any]]:
    """Drop the main record's id (the row has it) and each file name that is the row's own."""
    out = []
    for kind, offset, length, rid, extra in entries:
        own = extra["file"] == main.warc_file
        if own and offset == main.offset:
            rid = None
        rest = {k: v for k, v in extra.items() if not (k == "file" and own)}
        out.append([kind, offset, length, rid, rest] if rest else [kind, offset, length, rid])
    return out


def _self_evident(item: CaptureInput, *, allow_tls: bool = False) -> bool:
    """True for a plain page fetch: one exchange over plain http without a proxy, captured whole,
    nothing to explain (an https fetch has its certificate's verification to record; with
    ``allow_tls``, TLS and proxy are not looked at)."""
    return (item.outcome == "captured" and len(item.exchanges) == 1 and not item.reason
            and not item.exchanges[0].truncated and not item.context
            and (allow_tls or (item.exchanges[0].tls is None and item.exchanges[0].proxy is None))
            and not item.attachments and item.mode in (None, "http") and not item.mode_reason
            and item.page_id is None)


def _row_mode(item: CaptureInput, wrote_meta: bool) -> str | None:
    """The row's ``mode``: the item's, and "http" for a plain page fetch whose attempt has no
    metadata record (what ``storage.reindex`` reads from a capture without one)."""
    return item.mode if wrote_meta else item.mode or "http"


def _says_nothing_new(item: CaptureInput, plan: _Plan, original: _Original | None) -> bool:
    """True for a revisit that is a plain page fetch but for its TLS or proxy, and those are its
    original's: a metadata record of its own would say nothing its original's does not."""
    return (original is not None and original.tls is not None
            and _self_evident(item, allow_tls=True) and _tls_columns(plan.last) == original.tls)


# the TLS and proxy columns (``_tls_columns``)
_TLS_COLUMNS = (Capture.tls_verified, Capture.tls_fingerprint, Capture.tls_issuer, Capture.tls_detail,
                Capture.proxy)


def _tls_columns(last: Exchange | None) -> dict[str, Any]:
    """The row's TLS and proxy columns, from the last exchange answered (None over http)."""
    tls = (last.tls if last is not None else None) or {}
    return {"tls_verified": tls.get("verified") if tls else None,
            "tls_fingerprint": tls.get("fingerprint"), "tls_issuer": tls.get("issuer"),
            "tls_detail": tls.get("detail"), "proxy": last.proxy if last is not None else None}


def _page_records(session: Session, page_ids: set[int]) -> dict[int, str]:
    """The WARC-Record-ID of the main record of each of these (committed) page captures."""
    if not page_ids:
        return {}
    return {row.id: row.warc_record_id for row in session.execute(
        select(Capture.id, Capture.warc_record_id).where(Capture.id.in_(sorted(page_ids))))
        if row.warc_record_id}


def _meta_content(item: CaptureInput, plan: _Plan, page_record: str | None = None) -> dict[str, Any]:
    last = plan.last
    tls = [exchange.tls for exchange in item.exchanges if exchange.status is not None]
    return {
        "url": item.url, "outcome": item.outcome, "reason": item.reason,
        "reason_detail": item.reason_detail, "final_url": item.final_url,
        "redirect_chain": item.redirect_chain, "ignore_robots": item.ignore_robots,
        "allow_private": item.allow_private, "captured_at": warc_date(item.captured_at),
        "sha256": plan.sha_hex, **({"context": item.context} if item.context else {}),
        # the final response's TLS record, and each answered hop's when there were several
        **({"tls": last.tls} if last is not None and last.tls else {}),
        **({"tls_hops": tls} if len(tls) > 1 and any(tls) else {}),
        **({"proxy": last.proxy} if last is not None and last.proxy else {}),
        # how it was fetched (browser captures, sub-resources: docs/browser.md)
        **({"mode": item.mode, "mode_reason": item.mode_reason} if item.mode else {}),
        **({"page_id": item.page_id} if item.page_id is not None else {}),
        # the page's own record: what ties the two together again when the rows are rebuilt from
        # the WARC files (storage.reindex), where row ids are new
        **({"page_record": page_record} if page_record else {}),
    }


def _extractions_of(session: Session, capture_ids: set[int]) -> dict[int, Extraction]:
    """The extraction rows of these captures (the originals of revisits), by capture id."""
    if not capture_ids:
        return {}
    rows = session.scalars(select(Extraction).where(Extraction.capture_id.in_(capture_ids)))
    return {row.capture_id: row for row in rows}
