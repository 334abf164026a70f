"""Extraction worker processes beside the crawl (pebble), each task cut off by a timeout.

A page that makes trafilatura hang is stopped at ``timeout`` seconds and recorded as ``timeout``; one
that crashes the worker is recorded as ``error`` (pebble replaces the worker). Workers are started with
``forkserver`` so they never inherit the crawl's threads; the fork server preloads and warms
trafilatura (``collector.capture.extract_preload``) so its ~70 MB are shared by the workers, not copied.
Memory stays flat over long runs: a worker is replaced after ``max_tasks`` pages, and returns freed
heap to the system (``malloc_trim``) after each page (lxml's trees fragment the heap).

Memory is bounded whatever one page does: each worker runs under ``RLIMIT_DATA`` (``max_memory``
bytes of heap and anonymous maps; shared libraries and the fork server's shared pages are not counted).
A page that needs more fails its allocation (``MemoryError``) or kills its worker; either way it is
recorded as ``too-large`` with the reason, and the pool goes on with the next pages.

The pool's two channel locks are named POSIX semaphores that a worker opens while it unpickles its
start-up data, after the fork server forked it. pebble (5.2.3) removes them when the pool stops,
before it stops the workers: a worker still starting then (a loaded machine; a replacement for a
timed-out worker) failed with ``FileNotFoundError`` in ``synchronize.py`` ``__setstate__`` (issue
13). The pool here holds its own reference to them until every worker has stopped.
"""

from __future__ import annotations

import functools
import multiprocessing
import resource
import threading
from collections.abc import Callable
from concurrent.futures import Future, TimeoutError
from pathlib import Path
from typing import Any

from pebble import ProcessExpired, ProcessPool

from collector.capture.crawlproc import server_running
from collector.capture.extraction import HTML_MAX_BYTES, HTML_MAX_TAGS, extract_archived
from collector.capture.heap import map_large_blocks, trim
from storage.store import ObjectStore, attach, attached

__all__ = ["ExtractionPool", "pool_plan"]


EXTRACT_PRELOAD = ["collector.capture.extract_preload"]
MAX_MEMORY = 1024 * 1024 * 1024  # a worker's RLIMIT_DATA when none is given (Config: 1024 MiB)
# a small run's fork server imports the extractor without warming it: the warm-up (demo pages, every
# dateparser locale) costs ~3 s of CPU, which a handful of pages never wins back
LIGHT_PRELOAD = ["trafilatura", "collector.capture.extraction"]
WARM_FROM = 16  # pages: from this many on (or an unknown number), the fork server warms trafilatura


def pool_plan(workers: int, pages: int | None) -> tuple[int, bool]:
    """The number of extraction workers for a run of ``pages`` pages (None: unknown) and whether
    their fork server warms trafilatura: a small run starts no more workers than it has pages, and
    no warm-up."""
    if pages is None or pages >= WARM_FROM:
        return workers, True
    return max(1, min(workers, pages)), False


def near_memory_limit(share: float = 0.8) -> bool:
    """True when this process's peak resident memory reached ``share`` of its ``RLIMIT_DATA`` (False
    without a limit): an allocation that failed then was the limit's doing."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_DATA)
    if soft == resource.RLIM_INFINITY:
        return False
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 >= share * soft


def limit_memory(max_bytes: int) -> None:
    """Cap this process's data memory (heap and anonymous maps) at ``max_bytes`` (never raising a
    hard limit set from outside)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (max_bytes, hard))


def _warm(max_memory: int = 0) -> None:
    # here, in the worker: the parent (the writer process) never loads trafilatura's ~70 MB
    import trafilatura  # noqa: F401 - import once per worker, not per page (if not preloaded)

    map_large_blocks()  # a page's bytes are given back when the page is done
    if max_memory:
        limit_memory(max_memory)


def extract_task(warc_dir: str, warc_file: str, offset: int, url: str, max_bytes: int,
                 html_max_bytes: int = HTML_MAX_BYTES,
                 html_max_tags: int = HTML_MAX_TAGS, store: tuple[str, str] | None = None) -> dict[str, Any]:
    """One page in a worker: ``extract_archived``, then a heap trim; a ``MemoryError`` (the worker's
    memory limit) is the page's ``too-large``. ``store``: (URI, endpoint) of the s3:// store whose
    staging directory ``warc_dir`` is (a worker of the fork server did not load the configuration)."""
    from lxml import etree  # lazy: loaded by trafilatura in the worker; the writer never loads it

    if store is not None and attached(Path(warc_dir)) is None:
        attach(Path(warc_dir), ObjectStore.from_uri(store[0], endpoint_url=store[1]))

    try:
        return extract_archived(warc_dir, warc_file, offset, url, max_bytes,
                                html_max_bytes=html_max_bytes, html_max_tags=html_max_tags)
    except MemoryError:
        return {"status": "too-large", "error": "extraction needed more than the worker's memory limit"}
    except etree.LxmlError as exc:  # its error log cannot be pickled back to the pool: say it here
        if near_memory_limit():  # libxml2 reports a failed allocation as its own error
            return {"status": "too-large", "error": "extraction needed more than the worker's memory "
                                                    f"limit ({type(exc).__name__}: {exc})"}
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        trim()


def channel_locks(pool: ProcessPool) -> tuple[Any, ...]:
    """The locks of a started pebble ``pool``'s worker channel (named semaphores on Linux); () where
    pebble keeps them elsewhere (a test fails then: ``test_extract_pool``)."""
    manager = getattr(getattr(pool, "_pool_manager", None), "worker_manager", None)
    mutex = getattr(getattr(manager, "workers_channel", None), "mutex", None)
    return tuple(lock for lock in (getattr(mutex, "reader_mutex", None),
                                   getattr(mutex, "writer_mutex", None)) if lock is not None)


def extraction_context(*, warm: bool = True) -> multiprocessing.context.BaseContext:
    """The forkserver context, with trafilatura preloaded (and warmed, with ``warm``) if this
    process's server is not running.

    A process has one fork server. In a crawl child (the usual case) it is started here, for the
    workers; where one already runs (a crawl started in-process), the workers share it as it is.
    """
    ctx = multiprocessing.get_context("forkserver")
    if not server_running():
        ctx.set_forkserver_preload(EXTRACT_PRELOAD if warm else LIGHT_PRELOAD)
    return ctx


class ExtractionPool:
    """A pool of extraction processes that reads payloads back from the WARC files."""

    def __init__(self, warc_dir: Path, *, workers: int, timeout: float, max_bytes: int,
                 max_tasks: int = 50, html_max_bytes: int = HTML_MAX_BYTES,
                 html_max_tags: int = HTML_MAX_TAGS, max_memory: int = MAX_MEMORY,
                 warm: bool = True, on_demand: bool = False) -> None:
        self.warc_dir = str(Path(warc_dir).resolve())
        # the object store where workers find files that are not in warc_dir (storage.store)
        store = attached(Path(warc_dir))
        self.store = (store.uri, store.endpoint_url) if isinstance(store, ObjectStore) else None
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.html_limits = (html_max_bytes, html_max_tags)
        self.max_memory = max_memory
        self.workers = workers
        self._make = functools.partial(ProcessPool, max_workers=workers, max_tasks=max_tasks,
                                       initializer=_warm, initargs=(max_memory,))
        self._warm = warm
        # made with its fork server's context, by its start (on demand: never, without a page)
        self._pool: ProcessPool | None = None
        # start the fork server (trafilatura loaded, and warmed: seconds) and the workers now, while
        # the crawl starts, rather than when the first page is committed; in a thread, because a
        # worker's start waits for the server's imports, which the caller (the writer process)
        # spends importing storage and opening the database instead (~0.5 s of a one-URL capture).
        # ``on_demand``: at the first page instead (a check's pages are mostly revisits, whose text
        # is their original's: an unchanged check starts no process at all), the pages submitted
        # meanwhile scheduled by the starting thread once the pool runs
        self._locks: tuple[Any, ...] = ()  # until close: see the module's docstring
        self._start_error: BaseException | None = None
        self._lock = threading.Lock()
        self._early: list[tuple[tuple[Any, ...], Callable[[dict[str, Any]], None]]] | None = []
        self._starting = threading.Thread(target=self._start, name="extraction-pool-start",
                                          daemon=True)
        if not on_demand:
            self._starting.start()

    def _start(self) -> None:
        try:
            self._pool = self._make(context=extraction_context(warm=self._warm))
            self._pool.schedule(_warm)
        except BaseException as exc:  # raised by close(), if no submit() met it first
            self._start_error = exc
        if self._pool is not None:
            self._locks = channel_locks(self._pool)
        with self._lock:  # the pages submitted while the pool started
            early, self._early = self._early or [], None
        for args, done in early:
            try:
                self._schedule(args, done)
            except Exception as exc:  # the pool did not start: no caller to raise to, said here
                done({"status": "error", "error": f"extraction pool: {type(exc).__name__}: {exc}"})

    def submit(self, payload_file: str, payload_offset: int, url: str,
               done: Callable[[dict[str, Any]], None]) -> None:
        """Extract the payload of the response record at ``payload_offset`` in a worker; call
        ``done(result_dict)`` when finished."""
        args = (self.warc_dir, payload_file, payload_offset, url, self.max_bytes, *self.html_limits,
                self.store)
        with self._lock:
            if self._early is not None:  # the pool is starting: the starting thread schedules it
                self._early.append((args, done))
                if self._starting.ident is None:  # on demand: this is the first page
                    self._starting.start()
                return
        self._schedule(args, done)

    def _schedule(self, args: tuple[Any, ...], done: Callable[[dict[str, Any]], None]) -> None:
        if self._pool is None:
            raise RuntimeError(f"the extraction pool did not start ({self._start_error})")
        future = self._pool.schedule(extract_task, args=args, timeout=self.timeout)

        def finished(fut: Future[dict[str, Any]]) -> None:
            try:
                result = fut.result()
            except TimeoutError:
                result = {"status": "timeout",
                          "error": f"extraction took longer than {self.timeout:g} s"}
            except ProcessExpired as exc:  # killed by its memory limit (or crashed): said as such
                result = {"status": "too-large", "error": f"extraction worker died ({exc}) under "
                          f"its memory limit of {self.max_memory // 2**20} MiB"}
            except Exception as exc:  # the page broke the extractor: record it, go on
                result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            done(result)

        future.add_done_callback(finished)

    def close(self) -> None:
        """Stop the workers (pending tasks are finished first); raises a failure of the pool's
        start. A pool started on demand that never had a page has no process to stop."""
        with self._lock:
            started = self._starting.ident is not None
        if not started:
            return
        self._starting.join()
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
        self._locks = ()  # every worker has stopped: the semaphores may go now
        if self._start_error is not None:
            raise self._start_error
