"""``collector feed`` as users run it: a real process, JSON lines, exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.monitor.conftest import control
from tests.terminal import run_with_terminal_stderr

ENTRY_FIELDS = {"feed", "title", "link", "published", "matched", "captured", "outcome"}


def test_feed_commands(feed_server: str, home: Path, tmp_path: Path) -> None:
    name = "cli" + uuid.uuid4().hex[:6]
    control(feed_server, name, add=[{"title": "Jane Doe elected"}, {"title": "Rain expected"}])
    words = tmp_path / "words.txt"
    words.write_text("# people\nJane Doe\n")
    added = run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name,
                "--keywords-file", str(words), "--every", "30m", "--no-text-match", "--json")
    no_traceback(added)
    assert added.returncode == 0, added.stderr.decode()
    assert lines(added)[0]["keywords"] == ["Jane Doe"] and lines(added)[0]["every"] == 1800

    polled = run(home, "feed", "poll", name, "--allow-private", "--json")
    no_traceback(polled)
    assert polled.returncode == 0, polled.stderr.decode()
    out = lines(polled)
    assert all(o.keys() >= ENTRY_FIELDS for o in out)
    assert {o["title"]: (o["matched"], o["captured"], o["outcome"]) for o in out} == {
        "Jane Doe elected": (["Jane Doe"], True, "captured"), "Rain expected": ([], False, "recorded")}

    again = run(home, "feed", "poll", "--allow-private", "--json")
    assert again.returncode == 0 and lines(again) == []

    listed = lines(run(home, "feed", "list", "--json"))
    assert [(f["name"], f["status"], f["entries"], f["matched_entries"], f["last_status"])
            for f in listed] == [(name, "ok", 2, 1, 304)]
    entries = lines(run(home, "feed", "entries", name, "--matched", "--json"))
    assert [e["title"] for e in entries] == ["Jane Doe elected"] and entries[0]["capture_id"]

    found = run(home, "feed", "discover", feed_server + "/page.html", "--allow-private", "--json")
    assert [f["type"] for f in lines(found)] == ["application/rss+xml", "application/atom+xml"]

    assert run(home, "feed", "remove", name).returncode == 0
    assert run(home, "feed", "remove", name).returncode == 1
    assert lines(run(home, "feed", "list", "--json")) == []


def test_feed_errors(feed_server: str, home: Path) -> None:
    name = "bad" + uuid.uuid4().hex[:6]
    control(feed_server, name, mode="status:503")
    assert run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name).returncode == 0
    dup = run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name)
    assert dup.returncode == 2 and name.encode() in dup.stderr
    failed = run(home, "feed", "poll", "--allow-private", "--json")
    no_traceback(failed)
    assert failed.returncode == 1 and b"HTTP 503" in failed.stderr
    unknown = run(home, "feed", "poll", "nope")
    assert unknown.returncode == 2 and b"nope" in unknown.stderr
    both = run(home, "feed", "add", "http://x.example/rss", "--keywords", "a", "--keywords-file", "f")
    assert both.returncode == 2
    bad_every = run(home, "feed", "add", "http://x.example/rss", "--every", "soon")
    assert bad_every.returncode == 2 and b"soon" in bad_every.stderr
    assert run(home, "feed", "add", "file:///etc/passwd").returncode == 2


def _popen(home: Path, *args: str, stderr: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0", "TERM": "xterm", "COLUMNS": "100"})
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    return subprocess.Popen([sys.executable, "-m", "collector", *args], env=env, stdout=subprocess.PIPE,
                            stderr=stderr)


def _slow_feed(feed_server: str, server: str, home: Path) -> str:
    """A feed with an entry only recorded and a matching entry whose article takes 4 s to answer."""
    name = "slow" + uuid.uuid4().hex[:6]
    control(feed_server, name, add=[{"title": "Rain expected"},
                                    {"title": "Jane Doe speaks", "link": f"{server}/slow?s=4"}])
    added = run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name, "--keywords",
                "Jane Doe", "--no-text-match")
    assert added.returncode == 0, added.stderr.decode()
    return name


def test_poll_prints_each_entry_as_soon_as_it_is_known(feed_server: str, server: str, home: Path,
                                                       tmp_path: Path) -> None:
    name = _slow_feed(feed_server, server, home)
    with (tmp_path / "stderr").open("wb") as err:
        proc = _popen(home, "feed", "poll", name, "--allow-private", "--json", stderr=err)
        try:
            assert proc.stdout is not None
            first = json.loads(proc.stdout.readline())
            first_at = time.monotonic()
            assert proc.poll() is None, "the first entry must be printed while the poll goes on"
            second = json.loads(proc.stdout.readline())
            second_at = time.monotonic()
            assert proc.wait(timeout=120) == 0, (tmp_path / "stderr").read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
    assert (first["title"], first["outcome"]) == ("Rain expected", "recorded")
    assert (second["title"], second["matched"], second["outcome"]) == ("Jane Doe speaks", ["Jane Doe"],
                                                                       "captured")
    assert second_at - first_at > 2.5, "the recorded entry came out only with the slow article"


def test_poll_shows_progress_on_a_terminal_and_json_on_stdout(feed_server: str, server: str,
                                                              home: Path) -> None:
    name = _slow_feed(feed_server, server, home)
    code, out, terminal = run_with_terminal_stderr(
        lambda fd: _popen(home, "feed", "poll", name, "--allow-private", "--json", stderr=fd))
    assert code == 0, terminal
    assert "polling feeds" in terminal and "capturing articles" in terminal, terminal
    assert "1/1" in terminal
    # with stderr on a terminal and stdout in a pipe, the JSON lines still go to stdout, not the bar
    assert [json.loads(line)["title"] for line in out.decode().splitlines()] == ["Rain expected",
                                                                                 "Jane Doe speaks"]
    assert "Rain expected" not in terminal


def test_poll_progress_is_off_without_a_terminal() -> None:
    from rich.console import Console

    from collector.cli.feed import PollProgress

    quiet = io.StringIO()
    with PollProgress(as_json=True, console=Console(file=quiet, force_terminal=False)) as progress:
        progress.phase("feeds", 3)
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    with PollProgress(as_json=True, console=Console(file=shown, force_terminal=True, width=80)) as progress:
        progress.phase("feeds", 3)
        progress.progress.refresh()
    assert "polling feeds" in shown.getvalue() and "0/3" in shown.getvalue()
