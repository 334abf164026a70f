"""`collector serve` as users run it (a real process), and the help of the new commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from collector.cli.main import cli
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.server.helpers import fetch


def test_serve_prints_its_url_and_answers(home: Path, server: str) -> None:
    assert run(home, "capture", "--allow-private", server + "/page/served").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", "0", "--read-only"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("collector serving "), line + (proc.stderr.read() if proc.stderr else "")
        base = line.split(" on ", 1)[1].split()[0]
        assert fetch(base + "/").status == 200
        reply = fetch(f"{base}/timegate/{server}/page/served")
        assert reply.status == 302 and reply.header("vary") == "accept-datetime"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop a `collector serve` process and close its pipes."""
    proc.terminate()
    proc.wait(timeout=20)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def _children(pid: int, wanted: int = 0) -> list[int]:
    """The child processes of ``pid`` (waiting up to 20 s until there are ``wanted`` of them)."""
    import time

    deadline = time.monotonic() + 20
    while True:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_serve_with_workers_answers_and_stops_every_worker(home: Path, server: str) -> None:
    assert run(home, "capture", "--allow-private", server + "/page/workers").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", "0", "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "(2 workers; Ctrl-C to stop)" in line, line + (proc.stderr.read() if proc.stderr else "")
        base = line.split(" on ", 1)[1].split()[0]
        for _ in range(20):  # new connections each time: the kernel spreads them over the workers
            reply = fetch(f"{base}/timegate/{server}/page/workers")
            assert reply.status == 302 and reply.header("vary") == "accept-datetime"
        assert fetch(base + "/api/schedules").status == 200
        workers = _children(proc.pid, 2)
        assert len(workers) == 2
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    for pid in workers:  # reaped by the supervisor, not left running
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_worker_that_dies_is_replaced(home: Path) -> None:
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", "0", "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().split(" on ", 1)[1].split()[0]
        first = _children(proc.pid, 2)
        time.sleep(2.5)  # past the start-up window, so this is a crash, not a failure to start
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = _children(proc.pid)
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.1)
        assert len(now) == 2 and first[0] not in now and first[1] in now
        assert fetch(base + "/").status == 200
    finally:
        _stop(proc)


def test_search_command(home: Path, server: str) -> None:
    assert run(home, "capture", "--allow-private", server + "/page/searchable").returncode == 0
    proc = run(home, "search", "searchable", "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    [hit] = lines(proc)
    assert hit["url"] == server + "/page/searchable" and "[[searchable]]" in hit["snippet"].lower()
    assert run(home, "search", "nothing-like-this").returncode == 1
    assert run(home, "search", "--reindex").returncode == 0
    assert run(home, "search").returncode == 2


@pytest.mark.parametrize("args", [["serve"], ["token"], ["token", "create"], ["token", "list"],
                                  ["token", "revoke"], ["export"], ["search"]])
def test_help_has_an_example(args: list[str]) -> None:
    command: Any = cli
    for name in args:
        command = command.commands[name]
    assert command.help and "Example" in command.help
