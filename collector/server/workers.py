"""Several server processes on one listening socket (``collector serve --workers N``).

The parent binds the socket and builds the application once, then forks ``N`` workers; each runs its own
uvicorn event loop on the shared socket and the kernel spreads connections between them. A worker opens
its own database connections (the parent's pool is dropped before forking, never shared). The parent
only supervises: SIGINT/SIGTERM stop every worker (gracefully, as uvicorn does), and a worker that dies
on its own is replaced, unless workers keep dying right after they start.

One Python process runs one request's Python code at a time; the Memento lookups and the HTTP protocol
are mostly Python, so on a machine with several cores more workers serve more requests at once. SQLite
in WAL mode lets any number of processes read while one writes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType

__all__ = ["MAX_DEFAULT_WORKERS", "default_workers", "serve_workers"]

MAX_DEFAULT_WORKERS = 4
_QUICK_DEATH = 2.0  # seconds: a worker that dies sooner than this after starting is failing to start
_MAX_QUICK_DEATHS = 3


def default_workers() -> int:
    """One worker per CPU, at most ``MAX_DEFAULT_WORKERS``; 1 where processes cannot be forked."""
    if not hasattr(os, "fork"):
        return 1
    return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


def _run_child(run: Callable[[socket.socket], None], sock: socket.socket) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = 0
    try:
        run(sock)
    except BaseException as exc:  # a worker must never return into the parent's code
        code = 0 if isinstance(exc, KeyboardInterrupt | SystemExit) and not getattr(exc, "code", 0) else 1
        if code:
            print(f"collector serve worker {os.getpid()} failed: {exc!r}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve_workers(run: Callable[[socket.socket], None], sock: socket.socket, workers: int, *,
                  before_fork: Callable[[], None] | None = None) -> int:
    """Run ``run(sock)`` in ``workers`` forked processes until SIGINT/SIGTERM; returns an exit status.

    ``before_fork`` runs in the parent before each fork (drop database connections there). The parent
    returns 1 when workers keep dying right after they start (e.g. cannot open the database), else 0.
    """
    children: dict[int, float] = {}
    stopping = False
    quick_deaths = 0

    def spawn() -> None:
        if before_fork is not None:
            before_fork()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            _run_child(run, sock)
        children[pid] = time.monotonic()

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(workers):
            spawn()
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            started = children.pop(pid, None)
            if stopping or started is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            print(f"collector serve: worker {pid} exited ({code}); starting another", file=sys.stderr)
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < _QUICK_DEATH else 0
            if quick_deaths >= _MAX_QUICK_DEATHS:
                print("collector serve: workers keep failing at start; stopping", file=sys.stderr)
                stop(signal.SIGTERM, None)
                continue
            spawn()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if quick_deaths >= _MAX_QUICK_DEATHS else 0
