"""The archive writer thread: group commits of captures, extraction hand-off, results out.

The crawl hands each attempt to ``ArchiveWriter.submit``; one thread drains the queue in batches,
writes WARC records, fsyncs once per batch and commits the batch's rows in one transaction. A committed
HTML or PDF capture is then sent to the extraction pool; its text is committed later, by this same thread
(so the WARC files have a single writer). Both are committed in groups: a capture waits at most
``capture_delay`` for others, a text ``text_delay``. A text's commit (its WARC record, row, ledger
entry and search index entry) costs ~1.4 ms of CPU in groups of 64 and ~2.5 ms in groups of 8, which
two workers fill in a quarter of a second: texts wait up to a second (nothing waits for them but
the result line; the run's end commits the last group at once).
``emit`` is called once per capture when it is complete (archived, and extracted when it is HTML or PDF).

Extraction is slower than archiving (a page takes tens of milliseconds in trafilatura), so on a long
crawl captures wait for it. They wait here as small ``_Job`` tuples; the pool is handed at most
``inflight_per_worker`` pages per worker at a time, so a 20,000-URL run does not hold 20,000 tasks,
records and callbacks. The backlog is also in the database (rows without an extraction status), which
is how a crashed run's pending extractions are finished by the next one.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, NamedTuple

from collector.capture.extract_pool import ExtractionPool
from collector.capture.extraction import awaits_extraction
from collector.capture.heap import Trimmer
from storage import queries
from storage.archive import Archive
from storage.models import EXTRACTION_PENDING
from storage.records import CaptureInput, CaptureRecord, ExtractionInput

__all__ = ["DOM_URN", "ArchiveWriter", "text_source"]

log = logging.getLogger(__name__)
_STOP = object()
DOM_URN = "urn:dom:"  # the target URI prefix of a browser capture's rendered DOM (spiders.browser)


class _Job(NamedTuple):
    """What the extraction of one committed capture needs (a capture waiting for a worker)."""

    capture_id: int
    url: str
    payload_file: str
    payload_offset: int
    refers_to: str | None
    emit: bool


def text_source(record: CaptureRecord) -> tuple[str, int]:
    """(WARC file, offset) of the record whose text is ``record``'s: its rendered DOM for a browser
    capture (the text a reader saw), else its payload."""
    if record.mode == "browser":
        for rec in queries.expand_records(record):  # type: ignore[arg-type]
            if rec["type"] == "resource" and str(rec.get("uri", "")).startswith(DOM_URN):
                return rec["file"], rec["offset"]
    return record.payload_file or "", record.payload_offset or 0


class ArchiveWriter:
    """Single writer of one archive, running in its own thread."""

    def __init__(
        self,
        archive: Archive,
        *,
        pool: ExtractionPool | None,
        emit: Callable[[CaptureRecord], None],
        batch: int = 64,
        clock: Callable[[], datetime] | None = None,
        text_delay: float = 1.0,
        capture_delay: float = 0.05,
        max_queued_bytes: int = 64 * 2**20,
        inflight_per_worker: int = 4,
        resume: Callable[[CaptureRecord], bool] | None = None,
        defer: bool = False,
    ) -> None:
        self.archive = archive
        self.pool = pool
        # no pool, on purpose (capture --no-extract): what would be extracted is marked "pending"
        self.defer = defer and pool is None
        self.emit = emit
        self.batch = batch
        self.text_delay = text_delay  # longest wait of an extracted text for others to commit with
        self.capture_delay = capture_delay  # the same for a capture (the crawl does not wait)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._queue: queue.Queue[Any] = queue.Queue()
        self._pending = 0  # extractions scheduled and not yet committed
        self._queued = 0  # captures submitted and not yet committed, and their bytes
        self._queued_bytes = 0
        self.max_queued_bytes = max_queued_bytes
        self._lock = threading.Lock()
        self._jobs: deque[_Job] = deque()  # committed captures waiting for a worker
        self._inflight = 0  # pages handed to the pool and not yet back
        self.max_inflight = max(1, inflight_per_worker * (pool.workers if pool is not None else 1))
        # which pending extractions to finish at start (default all; a writer beside other running
        # writers leaves theirs alone: see collector.capture.runlock)
        self.resume = resume or (lambda _record: True)
        self._trim = Trimmer(1.0)  # committed bodies are freed here: give the pages back
        self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self._error: BaseException | None = None

    def start(self) -> ArchiveWriter:
        """Start the writer thread; extraction left pending by an earlier run (that ``resume``
        accepts) is scheduled too."""
        self._thread.start()
        if self.pool is not None:
            for record in queries.pending_extractions(self.archive.sessions):
                if self.resume(record):
                    self._schedule(record, emit=False)
        return self

    def submit(self, item: CaptureInput) -> Future[CaptureRecord]:
        """Queue one attempt; the future resolves once its row is committed."""
        future: Future[CaptureRecord] = Future()
        size = sum(len(e.body) for e in item.exchanges)
        with self._lock:
            self._queued += 1
            self._queued_bytes += size
        future.add_done_callback(lambda _f: self._dequeued(size))
        self._queue.put(("capture", item, future))
        return future

    def _dequeued(self, size: int) -> None:
        with self._lock:
            self._queued -= 1
            self._queued_bytes -= size

    @property
    def congested(self) -> bool:
        """True when enough captures wait to be written that the crawl should wait for them."""
        return self._queued >= 2 * self.batch or self._queued_bytes >= self.max_queued_bytes

    @property
    def error(self) -> BaseException | None:
        """The storage failure that stopped the writer, if one did."""
        return self._error

    def close(self) -> None:
        """Finish queued captures and every pending extraction, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None:
            raise self._error

    # -- thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        # captures and extracted texts are committed in groups (one fsync and one transaction
        # for many); a group is due when it is full, when its oldest item has waited its delay
        # (capture_delay, text_delay), or when nothing more can come
        captures: list[Any] = []
        texts: list[tuple[ExtractionInput, bool]] = []
        capture_due = text_due = 0.0
        while True:
            if stopping and self._pending == 0 and self._queue.empty() and not captures:
                return
            dues = ([capture_due] if captures else []) + ([text_due] if texts else [])
            wait = max(0.0, min(dues) - time.monotonic()) if dues else (0.2 if stopping else None)
            try:
                items = [self._queue.get(timeout=wait)]
            except queue.Empty:
                items = []
            while items and len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in items:
                stopping = True
                items = [i for i in items if i is not _STOP]
            now = time.monotonic()
            if not captures:
                capture_due = now + self.capture_delay
            if not texts:
                text_due = now + self.text_delay
            captures += [i for i in items if i[0] == "capture"]
            done = [i[1] for i in items if i[0] == "extraction"]
            if done:
                texts += done
                with self._lock:
                    self._inflight -= len(done)
                self._feed_pool()
            flush_captures = captures and (len(captures) >= self.batch or now >= capture_due
                                           or stopping)
            flush_texts = texts and (len(texts) >= self.batch or now >= text_due
                                     or (stopping and len(texts) >= self._pending))
            try:
                if flush_captures:
                    batch, captures = captures, []
                    self._commit_captures(batch)
                    batch = []
                    self._trim()
                if flush_texts:
                    self._commit_texts(texts)
                    texts = []
            except BaseException as exc:  # a storage failure must stop the run, loudly
                log.exception("archive writer failed")
                self._error = exc
                for _, _, future in [*captures, *(batch if flush_captures else [])]:
                    if not future.done():
                        future.set_exception(exc)
                return

    def _commit_captures(self, captures: list[Any]) -> None:
        records = self.archive.commit_captures([c[1] for c in captures])
        if self.defer:
            deferred = {r.id for r in records if self._extractable(r)}
            # a crash before this commit leaves them without a row: pending all the same
            self.archive.mark_extractions_pending(sorted(deferred), self.clock())
            records = [dataclasses.replace(r, extraction_status=EXTRACTION_PENDING)
                       if r.id in deferred else r for r in records]
        for (_, _, future), record in zip(captures, records, strict=True):
            # schedule before resolving the future: once every future is resolved the crawl
            # may end and close() is called, which must see this extraction as pending
            if record.page_id is not None and record.mode == "browser":
                pass  # a browser page's sub-resource: no result line of its own, no text
            elif self._needs_extraction(record):
                self._schedule(record, emit=True)
            else:
                self.emit(record)
            future.set_result(record)

    def _commit_texts(self, texts: list[tuple[ExtractionInput, bool]]) -> None:
        self.archive.commit_extractions([e for e, _ in texts])
        done = queries.captures_by_ids(self.archive.sessions, [e.capture_id for e, _ in texts])
        for record, (_, emit) in zip(done, texts, strict=True):
            if emit:
                self.emit(record)
        with self._lock:
            self._pending -= len(texts)

    def _needs_extraction(self, record: CaptureRecord) -> bool:
        return self.pool is not None and self._extractable(record)

    @staticmethod
    def _extractable(record: CaptureRecord) -> bool:
        return awaits_extraction(record)

    def _schedule(self, record: CaptureRecord, *, emit: bool) -> None:
        """Queue ``record`` for extraction (the pool gets it once fewer than max_inflight wait)."""
        payload_file, payload_offset = text_source(record)
        job = _Job(record.id, record.final_url or record.url, payload_file, payload_offset,
                   record.warc_record_id, emit)
        with self._lock:
            self._pending += 1
            self._jobs.append(job)
        self._feed_pool()

    def _feed_pool(self) -> None:
        """Hand queued jobs to the pool until max_inflight pages are with it."""
        assert self.pool is not None or not self._jobs
        while True:
            with self._lock:
                if not self._jobs or self._inflight >= self.max_inflight:
                    return
                job = self._jobs.popleft()
                self._inflight += 1
            assert self.pool is not None
            self.pool.submit(job.payload_file, job.payload_offset, job.url,
                             lambda result, job=job: self._extracted(job, result))  # type: ignore[misc]

    def _extracted(self, job: _Job, result: dict[str, Any]) -> None:
        item = ExtractionInput(
            capture_id=job.capture_id, url=job.url,
            status=result.get("status", "error"), error=result.get("error"),
            extractor=result.get("extractor") or "trafilatura",
            text=result.get("text"), text_sha256=result.get("text_sha256"),
            title=result.get("title"), published=result.get("published"),
            language=result.get("language"), extracted_at=self.clock(),
            refers_to=job.refers_to,
        )
        self._queue.put(("extraction", (item, job.emit), None))
