"""Imported by a test's extraction fork server only: every worker but the first starts late.

Each worker forked from the server unpickles its pebble channel, whose two locks are named POSIX
semaphores that the pool's process owns. Here every worker after the first (``COLLECTOR_TEST_LATE_DIR``
decides which is first) waits, at the moment it would open such a semaphore, until the semaphore has
been removed or the worker is stopped. That is the race of a loaded machine made certain: a worker
still starting while its pool closes. If the pool removed its locks before stopping its workers,
the late worker then fails with ``FileNotFoundError`` (and prints a traceback).
"""

from __future__ import annotations

import os
import time
from multiprocessing import synchronize
from typing import Any

_setstate = getattr(synchronize.SemLock, "__setstate__")  # noqa: B009 - absent from the stubs
_late: list[bool] = []  # in a worker: [whether it is late], decided at its first lock


def _is_late() -> bool:
    if not _late:
        try:
            os.close(os.open(os.path.join(os.environ["COLLECTOR_TEST_LATE_DIR"], "first"),
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            _late.append(False)
        except FileExistsError:
            _late.append(True)
            with open(os.path.join(os.environ["COLLECTOR_TEST_LATE_DIR"], "late"), "a") as mark:
                mark.write(f"{os.getpid()}\n")
    return _late[0]


def _late_setstate(self: Any, state: tuple[Any, ...]) -> None:
    path = "/dev/shm/sem." + str(state[3]).lstrip("/")
    while _is_late() and os.path.exists(path):
        time.sleep(0.02)  # not a timing: wait for the pool to remove it (or to stop this worker)
    _setstate(self, state)


setattr(synchronize.SemLock, "__setstate__", _late_setstate)  # noqa: B010 - absent from the stubs
