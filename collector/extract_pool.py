"""Extraction worker processes beside the crawl (pebble), each task cut off by a timeout.

A page that makes trafilatura hang is stopped at ``timeout`` seconds and recorded as ``timeout``; one
that crashes the worker is recorded as ``error`` (pebble replaces the worker). Workers are started with
``forkserver`` so they never inherit the crawl's threads.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, TimeoutError
from pathlib import Path
from typing import Any

from pebble import ProcessExpired, ProcessPool

from collector.extraction import extract_archived
from storage.records import CaptureRecord

__all__ = ["ExtractionPool"]


def _warm() -> None:
    import trafilatura  # noqa: F401 - import once per worker, not per page


class ExtractionPool:
    """A pool of extraction processes that reads payloads back from the WARC files."""

    def __init__(self, warc_dir: Path, *, workers: int, timeout: float, max_bytes: int) -> None:
        self.warc_dir = str(Path(warc_dir).resolve())
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._pool = ProcessPool(max_workers=workers, initializer=_warm,
                                 context=multiprocessing.get_context("forkserver"))

    def submit(self, record: CaptureRecord, done: Callable[[dict[str, Any]], None]) -> None:
        """Extract ``record``'s payload in a worker; call ``done(result_dict)`` when finished."""
        future = self._pool.schedule(
            extract_archived,
            args=(self.warc_dir, record.payload_file, record.payload_offset,
                  record.final_url or record.url, self.max_bytes),
            timeout=self.timeout,
        )

        def finished(fut: Future[dict[str, Any]]) -> None:
            try:
                result = fut.result()
            except TimeoutError:
                result = {"status": "timeout",
                          "error": f"extraction took longer than {self.timeout:g} s"}
            except ProcessExpired as exc:
                result = {"status": "error", "error": f"extraction worker died: {exc}"}
            except Exception as exc:  # the page broke the extractor: record it, go on
                result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            done(result)

        future.add_done_callback(finished)

    def close(self) -> None:
        """Stop the workers (pending tasks are finished first)."""
        self._pool.close()
        self._pool.join()
