"""``collector extract --pending``: the texts of captures archived without extraction, extracted now.

A capture made with ``--no-extract`` (or ``extract = false``) has the extraction status ``pending``; a
crashed run can leave captures without any extraction row. Both are extracted here in the pool a
capture uses (``PoolExtractor``: same workers, limits and code path) and committed by
``Archive.commit_extractions`` as a capture's texts are: the WARC text record is written and fsynced
before the rows (extraction, search index) commit, so a crash loses nothing and the next run does the
rest. Captures of a run that is still running are left to it; while their run's pages are extracted
here its run lock is held, so a capture run starting meanwhile leaves them alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from collector.capture.reindex import PoolExtractor
from collector.capture.runlock import RunLock, is_running
from collector.capture.writer import text_source
from collector.config import Config
from storage import queries
from storage.archive import Archive
from storage.records import CaptureRecord, ExtractionInput

__all__ = ["extract_pending", "extraction_inputs"]


def extraction_inputs(records: list[CaptureRecord], results: list[dict[str, Any]],
                      at: datetime) -> list[ExtractionInput]:
    """The text rows to commit for ``records`` from their pool results (in the same order)."""
    return [ExtractionInput(
        capture_id=record.id, url=record.final_url or record.url,
        status=result.get("status", "error"), error=result.get("error"),
        extractor=result.get("extractor") or "trafilatura", text=result.get("text"),
        text_sha256=result.get("text_sha256"), title=result.get("title"),
        published=result.get("published"), language=result.get("language"), extracted_at=at,
        refers_to=record.warc_record_id)
        for record, result in zip(records, results, strict=True)]


def extract_pending(config: Config, *, on_total: Callable[[int], None] | None = None,
                    progress: Callable[[int], None] | None = None,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, Any]:
    """Extract every pending capture of ``config``'s archive; the summary (counts by status).

    ``on_total`` is told how many captures will be extracted, ``progress`` how many more are done
    (after each committed group).
    """
    archive = Archive.from_settings(config)
    extract = PoolExtractor(config)
    statuses: Counter[str] = Counter()
    left = 0
    try:
        pending = queries.pending_extractions(archive.sessions, deferred=True)
        mine = [r for r in pending if not is_running(config.home, r.run_id)]
        left = len(pending) - len(mine)
        if on_total is not None:
            on_total(len(mine))
        mine.sort(key=lambda r: (r.run_id or "", r.id))
        for run_id, group in groupby(mine, key=lambda r: r.run_id or ""):
            lock = RunLock(config.home, run_id).acquire() if run_id else None
            try:
                records = list(group)
                for start in range(0, len(records), config.commit_batch):
                    chunk = records[start:start + config.commit_batch]
                    results = extract(config.warc_dir, [
                        (*text_source(r), r.final_url or r.url) for r in chunk])
                    archive.commit_extractions(extraction_inputs(chunk, results, clock()))
                    statuses.update(str(result.get("status", "error")) for result in results)
                    if progress is not None:
                        progress(len(chunk))
            finally:
                if lock is not None:
                    lock.release()
    finally:
        extract.close()
        archive.close()
    return {"extracted": sum(statuses.values()), "statuses": dict(sorted(statuses.items())),
            "left_to_running_runs": left, "ok": True}
