"""Run a process with its stderr on a pseudo-terminal (progress bars on) and its stdout in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from collections.abc import Callable


def run_with_terminal_stderr(start: Callable[[int], subprocess.Popen[bytes]], *,
                             timeout: float = 120) -> tuple[int, bytes, str]:
    """Start a process with ``start(stderr_fd)``; (exit code, stdout bytes, text on the terminal).

    The terminal is drained while the process runs: a full pty would block it.
    """
    master, slave = pty.openpty()
    proc = start(slave)
    os.close(slave)
    seen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(5)
        os.close(master)
    return proc.returncode, out, b"".join(seen).decode(errors="replace")
