"""Peak memory of a process tree, sampled from /proc in a thread (no psutil needed).

A process's memory is its proportional set size (PSS: each shared page split between the processes
sharing it), so forked workers that share their parent's pages are not counted once per worker;
where smaps_rollup cannot be read, its resident size.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["TreePeak", "tree_rss"]

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_rss(root: int) -> int:
    """Memory (PSS) of ``root`` and all its descendants now, in bytes (processes gone meanwhile count 0)."""
    kids = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        total += _memory(pid)
    return total


def _memory(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


class TreePeak:
    """Context manager: samples ``tree_rss(root)`` until exit; ``peak`` is the largest sample (bytes).

    The sampling interval only sets how fine the samples are; nothing is asserted about time.
    ``cpu_seconds``: the CPU time its sampling thread used (reading smaps_rollup of large processes
    is not free), for a caller that measures the CPU of the same process to leave out.
    """

    def __init__(self, root: int | None = None, interval: float = 0.05) -> None:
        self.root = os.getpid() if root is None else root
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            started = time.thread_time()
            self.peak = max(self.peak, tree_rss(self.root))
            self.samples += 1
            self.cpu_seconds += time.thread_time() - started
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
