"""A worker's background passes (the reaper, the finisher): one function in a thread, every
``interval`` seconds and whenever woken, until stopped; a failed pass is logged and the next one runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

__all__ = ["Periodic"]

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``work`` in a thread named ``name`` every ``interval`` seconds and at each ``wake``
    (at most every ``spacing`` seconds), until ``stop``."""

    def __init__(self, name: str, work: Callable[[], object], *, interval: float,
                 spacing: float = 0.0) -> None:
        self.name, self.work, self.interval, self.spacing = name, work, interval, spacing
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        """Start the thread."""
        self._thread.start()
        return self

    def wake(self) -> None:
        """Make a pass soon."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (after the pass it is in)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.work()
            except Exception:  # the next pass tries again; a worker must not die of it
                log.exception("%s: a pass failed", self.name)
            if self.spacing:
                self._stop.wait(self.spacing)
