"""Which capture runs are still running: a lock file per run, held while its writer lives.

A writer that starts finishes the extractions an earlier run left pending (a crash, a kill). Two runs
may write one archive at the same time (a check crawls its pages and its probes side by side; the
daemon and a command line), and a running run's captures wait for extraction too: those must be left
to it, or both would extract them and the second commit would fail. Each writer holds an exclusive
``flock`` on ``<home>/runs/<run id>.lock`` for its lifetime; the kernel drops it when the process
ends, however it ends, so a run whose lock can be taken is over.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from pathlib import Path

__all__ = ["RunLock", "is_running"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _path(home: Path, run_id: str) -> Path:
    name = run_id if _SAFE_ID.match(run_id) else hashlib.sha256(run_id.encode()).hexdigest()
    return Path(home) / "runs" / f"{name}.lock"


class RunLock:
    """The lock that says run ``run_id`` is running (held from ``acquire`` to ``release``)."""

    def __init__(self, home: Path, run_id: str) -> None:
        self.path = _path(home, run_id)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock (creating its file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock and remove its file."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def is_running(home: Path, run_id: str | None) -> bool:
    """Whether run ``run_id``'s writer holds its lock now (False for None or an unknown run)."""
    if not run_id:
        return False
    try:
        fd = os.open(_path(home, run_id), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
