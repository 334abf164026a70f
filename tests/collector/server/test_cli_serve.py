"""`collector serve` as users run it (a real process), and the help of the new commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from collector.cli import cli
from tests.collector.server.helpers import fetch
from tests.collector.test_cli import lines, no_traceback, run


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
        proc.terminate()
        proc.wait(timeout=20)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


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
