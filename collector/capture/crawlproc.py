"""Starting crawl child processes quickly: a fresh process per crawl, forked from a warm server.

Twisted's reactor cannot be restarted, so every crawl runs in a new process. Starting that process with
``spawn`` costs an interpreter start and ~2-3 s of imports (Scrapy, Twisted, SQLAlchemy, storage, the
spiders) per crawl. Here crawl children are started with multiprocessing's ``forkserver``: one server
process imports those modules once (``collector.capture.crawl_preload``) and forks a child per crawl. The
server is started on a process's second crawl (or by the daemon at start): a process that crawls once
spawns its one child and saves the server's memory (``auto_start_method``). The server never
imports ``twisted.internet.reactor`` (that would install a reactor), opens no database and starts
no thread, so each child still installs its own fresh reactor.

What a forked child would otherwise take from the server rather than from the caller is handed over
explicitly: the caller's environment and its current stdout/stderr (``ChildSetup``).
``start_method="spawn"`` or ``"forkserver"`` forces one path.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator
from multiprocessing import forkserver, reduction
from multiprocessing.context import BaseContext
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ForkServerContext is absent where the platform has no fork server
    from multiprocessing.context import ForkServerContext, SpawnContext

__all__ = ["FORKSERVER_PRELOAD", "PRELOAD", "SLOW_IMPORTS", "START_METHODS", "ChildSetup",
           "auto_start_method", "crawl_context", "import_slow_modules", "server_running",
           "sourceless_stack", "warm"]

log = logging.getLogger(__name__)

START_METHODS = ("auto", "forkserver", "spawn")

# What a crawl child imports, in import order; each is optional (a missing one is imported by the
# child that needs it). None of them may import twisted.internet.reactor or start a thread at import:
# tests/collector/test_crawlproc.py checks that.
PRELOAD: tuple[str, ...] = (
    "sqlalchemy", "sqlalchemy.orm", "sqlalchemy.dialects.sqlite", "sqlite3", "storage.database",
    "storage.models", "storage.queries", "storage.archive", "twisted.internet.defer",
    "twisted.internet.asyncioreactor", "twisted.internet.endpoints", "twisted.web.client", "scrapy",
    "scrapy.crawler", "scrapy.utils.misc", "scrapy.utils.request", "scrapy.core.engine",
    "scrapy.core.scheduler", "scrapy.core.downloader", "scrapy.core.downloader.handlers.http11",
    "scrapy.core.downloader.contextfactory", "scrapy.core.downloader.tls", "scrapy.pqueues",
    "scrapy.squeues", "scrapy.dupefilters", "scrapy.statscollectors", "scrapy.logformatter",
    "scrapy.resolver", "scrapy.robotstxt", "scrapy.responsetypes", "scrapy.http.cookies",
    "scrapy.downloadermiddlewares.cookies", "scrapy.downloadermiddlewares.defaultheaders",
    "scrapy.downloadermiddlewares.downloadtimeout", "scrapy.downloadermiddlewares.httpauth",
    "scrapy.downloadermiddlewares.httpcache", "scrapy.downloadermiddlewares.httpcompression",
    "scrapy.downloadermiddlewares.httpproxy", "scrapy.downloadermiddlewares.offsite",
    "scrapy.downloadermiddlewares.redirect", "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.stats",
    "scrapy.downloadermiddlewares.useragent", "scrapy.spidermiddlewares.depth",
    "scrapy.spidermiddlewares.httperror", "scrapy.spidermiddlewares.referer",
    "scrapy.spidermiddlewares.start", "scrapy.spidermiddlewares.urllength",
    "scrapy.extensions.corestats", "scrapy.extensions.closespider", "scrapy.extensions.logstats",
    "scrapy.extensions.memusage", "scrapy.extensions.throttle", "scrapy.extensions.logcount",
    "scrapy.spidermiddlewares.metacopy", "scrapy.utils.engine", "scrapy.utils.decorators",
    "scrapy.utils.httpobj", "queuelib", "protego", "spiders.capture", "spiders.metarefresh", "spiders.feed",
    "spiders.politeness", "spiders.recording", "spiders.retry", "spiders.robots", "spiders.safety",
    "collector.capture.pipeline", "collector.capture.writer", "collector.capture.extract_pool",
    "collector.capture.scrapy_settings", "collector.capture.run",
    # browser capture (the default "auto" mode installs its handler in every crawl)
    "playwright.async_api", "scrapy_playwright.handler", "spiders.browser", "spiders.behaviours",
    "spiders.browsercapture", "spiders.browserhandler", "collector.capture.browser",
)

# Scrapy modules whose import calls ``inspect.stack()`` (``scrapy.utils.deprecate.
# create_deprecated_class``, to name the module of a deprecated alias): it reads the source and
# searches sys.modules for every frame on the stack, ~0.3 s at the top of a process and over a
# second deep in a crawl's start (the download handler is imported inside the engine's set-up)
SLOW_IMPORTS: tuple[str, ...] = ("scrapy.core.downloader.tls", "scrapy.core.downloader.contextfactory")

# the forkserver imports these (ImportError skipped); "__main__" is multiprocessing's default
FORKSERVER_PRELOAD = ["__main__", "collector.capture.crawl_preload"]
_REACTOR = "twisted.internet.reactor"


def warm(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import ``modules`` (skipping any that fail) and warm their caches; return the names that failed.

    Refuses to leave a Twisted reactor installed: a module that imports one is reported as failed and
    the reactor module is dropped again, so that forked children install their own.
    """
    failed: list[str] = []
    import_slow_modules()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional speed-up: the child imports what it needs itself
            log.debug("crawl preload: cannot import %s: %s", name, exc)
            failed.append(name)
        if _REACTOR in sys.modules:
            failed.append(name)
            _drop_reactor()
    _warm_state()
    return failed


def import_slow_modules(modules: tuple[str, ...] = SLOW_IMPORTS) -> None:
    """Import ``modules`` (``SLOW_IMPORTS``) with a ``sourceless_stack``; a crawl imports them first.

    An import that fails is left to the code that needs the module (it fails there, as usual).
    """
    with sourceless_stack():
        for name in modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)


@contextlib.contextmanager
def sourceless_stack() -> Iterator[None]:
    """Within: ``inspect.stack()`` lists the caller's frames without reading their source, and
    ``inspect.getmodule(frame)`` is the module the frame runs in (from its globals).

    The stack's entries have the frame, file name, line number and function name, without the lines
    of code (``code_context`` None): all Scrapy asks of them at import. The real functions read the
    source of every frame and, for a frame of a file that is no module's (importlib's frames),
    scan every module in ``sys.modules``. Meant for the imports of ``SLOW_IMPORTS`` at a process's
    start, before other threads could call ``inspect``.
    """
    real_stack, real_getmodule = inspect.stack, inspect.getmodule

    def stack(context: int = 1) -> list[inspect.FrameInfo]:
        frames = []
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            frames.append(inspect.FrameInfo(frame, frame.f_code.co_filename, frame.f_lineno,
                                            frame.f_code.co_name, None, None))
            frame = frame.f_back
        return frames

    def getmodule(object: object, _filename: str | None = None) -> ModuleType | None:
        if inspect.isframe(object):
            return sys.modules.get(object.f_globals.get("__name__", ""))
        return real_getmodule(object, _filename)

    inspect.stack, inspect.getmodule = stack, getmodule
    try:
        yield
    finally:
        inspect.stack, inspect.getmodule = real_stack, real_getmodule


def _warm_state() -> None:
    """Work every crawl would repeat that leaves no connection or thread behind."""
    with contextlib.suppress(Exception):  # the ORM's mapper set-up: ~0.1 s of the first commit
        from sqlalchemy.orm import configure_mappers  # here: only the fork server loads SQLAlchemy

        configure_mappers()
    with contextlib.suppress(Exception):  # the newest migration, read from the files once
        from storage.database import head_revision  # here: only the fork server loads storage

        head_revision()


def _drop_reactor() -> None:
    sys.modules.pop(_REACTOR, None)
    internet = sys.modules.get("twisted.internet")
    if internet is not None and hasattr(internet, "reactor"):
        delattr(internet, "reactor")


def crawl_context(start_method: str = "auto") -> ForkServerContext | SpawnContext:
    """The multiprocessing context crawl children are started with: ``forkserver``, ``spawn`` or
    ``auto`` (see ``auto_start_method``).

    forkserver falls back to spawn where the platform has none. The preload only takes effect if the
    fork server is not running yet (else children import what the server lacks themselves).
    """
    if start_method not in START_METHODS:
        raise ValueError(f"unknown crawl start method {start_method!r} "
                         f"(use one of {', '.join(START_METHODS)})")
    if start_method == "auto":
        start_method = auto_start_method()
    if start_method == "forkserver" and "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


_crawls = 0  # crawl contexts this process has asked for with "auto"


def auto_start_method() -> str:
    """``spawn`` for the first crawl of a process, unless the fork server already runs; then
    ``forkserver``.

    A fork server pays off from the second crawl on (each later child starts in ~0.5 s instead of
    ~3-5 s), but it costs memory while it lives: it keeps its own copy of every page the child
    writes to (~60 MB beside a crawl child). A process that crawls once (``collector capture``,
    ``collector check``) spawns its child and starts no server; the daemon starts the server at
    start (``warm_server``); any other caller gets it from its second crawl.
    """
    global _crawls
    _crawls += 1
    return "forkserver" if _crawls > 1 or server_running() else "spawn"


def server_running() -> bool:
    """Whether this process's fork server is running."""
    return getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None) is not None


def forget_inherited_server() -> None:
    """Drop a fork server this process inherited through ``os.fork`` from multiprocessing's state.

    A forked child inherits its parent's record of the parent's fork server (pid, socket address,
    alive fd), but that server is not the child's own child: the next ``ensure_running`` fails with
    ``ChildProcessError`` on ``waitpid`` (the writer process's extraction pool broke this way when
    the crawl process had started a server before forking it). The child starts its own server when
    it needs one. A no-op where no server was recorded (a spawned process, a fresh one).
    """
    server = getattr(forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", None) is None:
        return
    if server._forkserver_alive_fd is not None:
        with contextlib.suppress(OSError):  # the parent's end: closing ours lets its server end with it
            os.close(server._forkserver_alive_fd)
    server._forkserver_pid = None
    server._forkserver_address = None
    server._forkserver_alive_fd = None


class _Fd:
    """A file descriptor of the caller, duplicated into the child when pickled for it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, ...]:
        return (_detach, (reduction.DupFd(self.fd),))


def _detach(dup: Any) -> int:
    return int(dup.detach())


class ChildSetup:
    """What a crawl child needs from its caller besides its arguments: environment, stdout, stderr.

    A spawned child gets these by itself; a forked one would otherwise get the fork server's.
    """

    def __init__(self, *, environ: dict[str, str], fds: dict[int, Any]) -> None:
        self.environ = environ
        self.fds = fds

    @classmethod
    def of_caller(cls, ctx: BaseContext) -> ChildSetup | None:
        """The caller's setup, for a child started by ``ctx`` (None when it needs none)."""
        if ctx.get_start_method() != "forkserver":
            return None
        fds: dict[int, Any] = {}
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.fstat(fd)
                fds[fd] = _Fd(fd)
        return cls(environ=dict(os.environ), fds=fds)

    def apply(self) -> None:
        """In the child: take the caller's environment and put its stdout/stderr on fds 1 and 2."""
        os.environ.clear()
        os.environ.update(self.environ)
        for target, fd in self.fds.items():
            if isinstance(fd, int) and fd != target:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                os.dup2(fd, target)
                os.close(fd)
