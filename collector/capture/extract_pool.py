"""Extraction worker processes beside the crawl (pebble), each task cut off by a timeout.

A page that makes trafilatura hang is stopped at ``timeout`` seconds and recorded as ``timeout``; one
that crashes the worker is recorded as ``error`` (pebble replaces the worker). Workers are started with
``forkserver`` so they never inherit the crawl's threads; the fork server preloads and warms
trafilatura (``collector.capture.extract_preload``) so its ~70 MB are shared by the workers, not copied.
Memory stays flat over long runs: a worker is replaced after ``max_tasks`` pages, and returns freed
heap to the system (``malloc_trim``) after each page (lxml's trees fragment the heap).

The pool's two channel locks are named POSIX semaphores that a worker opens while it unpickles its
start-up data, after the fork server forked it. pebble (5.2.3) removes them when the pool stops,
before it stops the workers: a worker still starting then (a loaded machine; a replacement for a
timed-out worker) failed with ``FileNotFoundError`` in ``synchronize.py`` ``__setstate__`` (issue
13). The pool here holds its own reference to them until every worker has stopped.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, TimeoutError
from pathlib import Path
from typing import Any

from pebble import ProcessExpired, ProcessPool

from collector.capture.crawlproc import server_running
from collector.capture.extraction import extract_archived
from collector.capture.heap import map_large_blocks, trim

__all__ = ["ExtractionPool"]


EXTRACT_PRELOAD = ["collector.capture.extract_preload"]


def _warm() -> None:
    # here, in the worker: the parent (the writer process) never loads trafilatura's ~70 MB
    import trafilatura  # noqa: F401 - import once per worker, not per page (if not preloaded)

    map_large_blocks()  # a page's bytes are given back when the page is done


def extract_task(warc_dir: str, warc_file: str, offset: int, url: str,
                 max_bytes: int) -> dict[str, Any]:
    """One page in a worker: ``extract_archived``, then a heap trim."""
    try:
        return extract_archived(warc_dir, warc_file, offset, url, max_bytes)
    finally:
        trim()


def channel_locks(pool: ProcessPool) -> tuple[Any, ...]:
    """The locks of a started pebble ``pool``'s worker channel (named semaphores on Linux); () where
    pebble keeps them elsewhere (a test fails then: ``test_extract_pool``)."""
    manager = getattr(getattr(pool, "_pool_manager", None), "worker_manager", None)
    mutex = getattr(getattr(manager, "workers_channel", None), "mutex", None)
    return tuple(lock for lock in (getattr(mutex, "reader_mutex", None),
                                   getattr(mutex, "writer_mutex", None)) if lock is not None)


def extraction_context() -> multiprocessing.context.BaseContext:
    """The forkserver context, with trafilatura preloaded if this process's server is not running.

    A process has one fork server. In a crawl child (the usual case) it is started here, for the
    workers; where one already runs (a crawl started in-process), the workers share it as it is.
    """
    ctx = multiprocessing.get_context("forkserver")
    if not server_running():
        ctx.set_forkserver_preload(EXTRACT_PRELOAD)
    return ctx


class ExtractionPool:
    """A pool of extraction processes that reads payloads back from the WARC files."""

    def __init__(self, warc_dir: Path, *, workers: int, timeout: float, max_bytes: int,
                 max_tasks: int = 50) -> None:
        self.warc_dir = str(Path(warc_dir).resolve())
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.workers = workers
        self._pool = ProcessPool(max_workers=workers, max_tasks=max_tasks, initializer=_warm,
                                 context=extraction_context())
        # start the fork server (trafilatura loaded and warmed: seconds) and the workers now, while
        # the crawl starts, rather than when the first page is committed
        self._pool.schedule(_warm)
        self._locks = channel_locks(self._pool)  # until close: see the module's docstring

    def submit(self, payload_file: str, payload_offset: int, url: str,
               done: Callable[[dict[str, Any]], None]) -> None:
        """Extract the payload of the response record at ``payload_offset`` in a worker; call
        ``done(result_dict)`` when finished."""
        future = self._pool.schedule(
            extract_task, args=(self.warc_dir, payload_file, payload_offset, url, self.max_bytes),
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
        self._locks = ()  # every worker has stopped: the semaphores may go now
