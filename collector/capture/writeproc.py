"""The archive writer in a process of its own, beside the crawl.

A crawl process runs Scrapy's reactor in its main thread. Archiving what it fetches (sha256 digests,
gzip, WARC records, rows) costs about as much CPU again, and in a thread of the same process it
fights the reactor for the GIL: every digest or gzip call releases the GIL and must win it back
from the reactor, and the reactor must wait for the writer's Python work. Measured on 2,000 pages:
the writer thread spent ~2 s of its ~4 s waiting to get the GIL back, and the crawl ran at half the
rate of a bare one.

So the crawl forks a writer process before its reactor starts (``WriterLink.start``). The crawl's
pipeline hands each attempt to ``WriterLink.submit`` as before; a sender thread pickles it down a
pipe; the writer process runs the usual ``ArchiveWriter`` (and the extraction pool) and answers each
committed capture with an ack and each finished result with a result message, which a receiver
thread in the crawl process passes on (to ``emit``: the caller's pipe). Back-pressure works as with
the thread: once ``max_items`` attempts or ``max_bytes`` of bodies are unacknowledged, ``congested``
is true and the pipeline waits for its capture's ack.

The writer process ignores SIGINT and SIGTERM: a crawl stopping on a signal closes the link, and a
crawl that dies closes the pipe; either way the writer first archives every attempt it received
(a fetch that happened is evidence) and then exits.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import multiprocessing
import os
import queue
import signal
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from collector.capture.crawlproc import forget_inherited_server
from collector.capture.heap import Trimmer, map_large_blocks
from collector.capture.runlock import RunLock, is_running
from collector.config import Config, attach_store
from collector.errors import CollectorError
from spiders.proxyurl import public_proxy_url
from storage.records import CaptureInput

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext, SpawnContext

__all__ = ["Committed", "WriterLink", "describe_run", "serve"]

log = logging.getLogger(__name__)


class Committed(NamedTuple):
    """What the crawl learns of a committed capture (the pipeline's item summary)."""

    id: int
    url: str
    outcome: str


def describe_run(config: Config, run: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """A new crawl run under ``config``: what each of its captures records (COLLECTOR_RUN: run id,
    User-Agent, robots and private-address policy; ``run`` adds to it), and the warcinfo fields of
    the warcinfo record it writes where it starts writing (each run writes one, saying how the run
    fetched, and its records name it)."""
    info_run = {"run_id": uuid.uuid4().hex, "user_agent": config.ua,
                "ignore_robots": not config.obey_robots, "allow_private": config.allow_private,
                **(run or {})}
    warcinfo = {"run-id": str(info_run["run_id"]), "http-header-user-agent": config.ua,
                "robots": "ignore" if info_run["ignore_robots"] else "obey",
                "private-addresses": "allowed" if info_run["allow_private"] else "refused",
                # https certificates: always verified and recorded; "refuse-untrusted" with tls_verify
                "tls-verify": "refuse-untrusted" if config.tls_verify else "record-only",
                **run_proxies()}
    if config.browser_profile:  # which login, never its secrets (they are redacted from the requests)
        warcinfo["browser-profile"] = config.browser_profile
    return info_run, warcinfo


def run_proxies() -> dict[str, str]:
    """The proxies this process's crawls use (``http_proxy``, ``https_proxy``, ``no_proxy``, as
    Scrapy's HttpProxyMiddleware reads them), as warcinfo fields without credentials."""
    # lazy: urllib.request (http.client, email, ssl) is only needed when a run is described
    from urllib.request import getproxies

    found = getproxies()
    out = {f"{scheme}-proxy": public_proxy_url(found[scheme]) or "" for scheme in ("http", "https")
           if found.get(scheme)}
    if out and found.get("no"):
        out["no-proxy"] = found["no"]
    return out


class WriterLink:
    """The crawl process's end of an archive writer running in a child process."""

    def __init__(self, config: Config, *, emit: Callable[[dict[str, Any]], None],
                 extract: bool = True, info: dict[str, str] | None = None,
                 software: str = "collector", max_items: int | None = None,
                 max_bytes: int = 12 * 2**20, pages: int | None = None) -> None:
        self.config = config
        self.pages = pages  # how many pages the crawl fetches, if known (sizes the extraction pool)
        self.emit = emit
        self.extract = extract
        self.info = dict(info or {})
        self.software = software
        self.max_items = max_items or 2 * config.commit_batch
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._futures: dict[int, tuple[Future[Committed], int]] = {}
        self._seq = 0
        self._bytes = 0
        self._error: BaseException | None = None
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn: Any = None
        self._proc: Any = None
        self._threads: list[threading.Thread] = []
        self._closed = False

    # -- crawl side -------------------------------------------------------------------------
    def start(self) -> WriterLink:
        """Start the writer process and the two threads that talk to it.

        The process is forked (cheap, and it shares what this process has imported) when this
        process has no other thread yet, as a crawl process at its start; otherwise it is spawned.
        """
        method = "fork" if threading.active_count() == 1 else "spawn"
        ctx = cast("ForkContext | SpawnContext", multiprocessing.get_context(method))
        ours, theirs = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(target=serve, name="collector-writer", args=(
            theirs, self.config, self.extract, self.info, self.software, ours, self.pages))
        if method == "fork":
            # the objects so far (imports, mostly) leave the garbage collector's view: its passes
            # would otherwise touch every page the two processes share, and copy them
            gc.freeze()
        self._proc.start()
        theirs.close()
        self._conn = ours
        self._threads = [threading.Thread(target=self._send_loop, name="writer-send", daemon=True),
                         threading.Thread(target=self._receive_loop, name="writer-receive",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def submit(self, item: CaptureInput) -> Future[Committed]:
        """Send one attempt to the writer; the future resolves once its row is committed."""
        future: Future[Committed] = Future()
        size = sum(len(e.body) for e in item.exchanges)
        with self._lock:
            if self._error is not None:
                future.set_exception(self._error)
                return future
            self._seq += 1
            seq = self._seq
            self._futures[seq] = (future, size)
            self._bytes += size
        self._outbox.put(("capture", seq, item))
        return future

    @property
    def congested(self) -> bool:
        """True when enough attempts wait for their ack that the crawl should wait for them."""
        return len(self._futures) >= self.max_items or self._bytes >= self.max_bytes

    @property
    def error(self) -> BaseException | None:
        """The failure that stopped the writer, if one did."""
        return self._error

    def close(self) -> None:
        """Let the writer finish every capture and extraction, then stop it; raises its failure."""
        if self._closed:
            return
        self._closed = True
        if self._proc is not None:
            self._outbox.put(("close", 0, None))
            self._outbox.put(None)
            for thread in self._threads:
                thread.join()
            self._proc.join()
            self._conn.close()
        if self._error is not None:
            raise self._error

    def _send_loop(self) -> None:
        trim = Trimmer(1.0)  # the bodies sent are freed here: give their pages back
        while True:
            message = self._outbox.get()
            if message is None:
                return
            try:
                self._conn.send(message)
            except (OSError, ValueError) as exc:
                self._fail(CollectorError(f"the archive writer process is gone ({exc})"))
                return
            del message
            trim()

    def _receive_loop(self) -> None:
        while True:
            try:
                kind, seq, payload = self._conn.recv()
            except (EOFError, OSError):
                self._proc.join(5)
                self._fail(CollectorError(
                    "the archive writer process stopped unexpectedly "
                    f"(exit code {self._proc.exitcode})"))
                return
            if kind == "ack":
                self._settle(seq, result=Committed(*payload))
            elif kind == "nack":
                self._settle(seq, error=CollectorError(payload))
            elif kind == "result":
                self.emit(payload)
            elif kind == "error":
                self._fail(CollectorError(payload))
            elif kind == "closed":
                return

    def _settle(self, seq: int, *, result: Committed | None = None,
                error: BaseException | None = None) -> None:
        with self._lock:
            future, size = self._futures.pop(seq)
            self._bytes -= size
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = error
            waiting, self._futures, self._bytes = list(self._futures.values()), {}, 0
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error)


# -- writer side ----------------------------------------------------------------------------------
def serve(conn: Any, config: Config, extract: bool, info: dict[str, str], software: str,
          crawl_end: Any = None, pages: int | None = None) -> None:
    """The writer process: archive every attempt received on ``conn`` until told to close (or until
    the crawl's end of the pipe is gone), then finish the pending extractions and say so.
    ``crawl_end``, the other end of the pipe (a forked child inherits it), is closed first: held
    open here, it would hide the crawl's death. ``pages``, the number of pages the crawl fetches
    (None: unknown), sizes the extraction pool (``collector.capture.extract_pool.pool_plan``)."""
    if crawl_end is not None:
        crawl_end.close()
    forget_inherited_server()  # forked from a process that ran one: the pool starts its own
    # here, in the writer process: the crawl process never loads SQLAlchemy, warcio or pebble
    from collector.capture.extract_pool import ExtractionPool, pool_plan  # writer process only

    map_large_blocks()  # bodies come and go: give each back when it goes
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl decides when the run ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lock = threading.Lock()

    def send(message: tuple[str, int, Any]) -> None:
        # the crawl may be gone: keep archiving what came
        with lock, contextlib.suppress(OSError, ValueError):
            conn.send(message)

    archive = pool = run_lock = None
    try:
        # first: its processes start while storage loads and the database opens
        if extract and config.extract and config.workers > 0:
            workers, warm = pool_plan(config.workers, pages)
            pool = ExtractionPool(config.warc_dir, workers=workers, warm=warm,
                                  timeout=config.extract_timeout, max_bytes=config.max_body_bytes,
                                  html_max_bytes=config.extract_max_bytes,
                                  html_max_tags=config.extract_max_tags,
                                  max_memory=config.extract_max_memory_mb * 2**20,
                                  on_demand=config.extract_on_demand)
        # here, once the pool starts (see above); the writer process only
        from collector.capture.writer import ArchiveWriter  # after the pool starts
        from storage.archive import Archive  # after the pool starts
        from storage.upload import upload_leftovers  # after the pool starts

        # a crawl writes; memory-mapped reads would keep every page it touches resident
        attach_store(config)  # a spawned writer did not load the config: its s3:// store, if any
        archive = Archive.open(config.db_url, config.warc_dir, mmap=False,
                               warc_max_bytes=config.warc_max_bytes,
                               gzip_level=config.warc_gzip_level, software=software, info=info,
                               append=True, ledger=config.ledger, worker=config.worker_label)
        upload_leftovers(config.warc_dir)  # what a writer killed here before left behind
        # this run is running while the lock is held: another writer starting meanwhile leaves
        # its pending extractions to it (and this one leaves those of other running runs)
        run_lock = RunLock(config.home, info.get("run-id") or str(os.getpid())).acquire()
        running = functools.cache(functools.partial(is_running, config.home))  # once per run
        writer = ArchiveWriter(archive, pool=pool, emit=lambda r: send(("result", 0, r.to_json())),
                               batch=config.commit_batch,
                               resume=lambda r: not running(r.run_id),
                               defer=not config.extract).start()
        while True:
            try:
                kind, seq, item = conn.recv()
            except (EOFError, OSError):
                break  # the crawl process died: archive what it sent, then stop
            if kind == "close":
                break
            if writer.error is not None:  # storage failed: say so now, not at the end
                raise writer.error
            writer.submit(item).add_done_callback(functools.partial(_answer, send, seq))
            del item
        writer.close()
        if config.ledger:  # the run's checkpoint (issue 15)
            from collector.evidence.ledger import checkpoint_after_run  # lazy: writer process only

            checkpoint_after_run(archive, config)
        send(("closed", 0, None))
    except BaseException as exc:  # report it to the crawl, which reports it to the caller
        send(("error", 0, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        if pool is not None:
            pool.close()
        if archive is not None:
            archive.close()
        if run_lock is not None:
            run_lock.release()
        conn.close()


def _answer(send: Callable[[tuple[str, int, Any]], None], seq: int, future: Future[Any]) -> None:
    error = future.exception()
    if error is not None:
        send(("nack", seq, f"{type(error).__name__}: {error}"))
    else:
        record = future.result()
        send(("ack", seq, (record.id, record.url, record.outcome)))
