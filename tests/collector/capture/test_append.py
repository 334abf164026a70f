"""Capture commands continue the home's open WARC file (issue 13): runs in a row append to one file,
runs at once never share one."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from storage.archive import Archive
from storage.verify import verify_archive
from storage.warcread import read_record_at, scan_file
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.conftest import make_config, warcio_check


def _verify(home: Path) -> int:
    config = make_config(home)
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        report = verify_archive(archive.sessions, config.warc_dir)
    finally:
        archive.close()
    assert report.ok, report.problems
    assert report.warnings == []
    return report.captures_checked


def _rows(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("select count(*) from captures").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_commands_in_a_row_append_to_one_file(server: str, home: Path) -> None:
    results = []
    for n in range(3):
        proc = run(home, "capture", "--allow-private", "--json", f"{server}/page/append-{n}")
        no_traceback(proc)
        assert proc.returncode == 0, proc.stderr.decode()
        results.extend(lines(proc))
    files = sorted((home / "warcs").glob("*.warc.gz"))
    assert [p.name for p in files] == [results[0]["warc_file"]]
    assert {r["warc_file"] for r in results} == {files[0].name}
    assert _verify(home) == 3
    for result in results:  # every run's row reads back its own record
        record = read_record_at(home / "warcs", result["warc_file"], result["warc_offset"])
        assert record.headers["WARC-Target-URI"] == result["url"]
    kinds = [r.type for r in scan_file(files[0])]  # type: ignore[union-attr]
    assert kinds.count("warcinfo") == 3  # one per run
    warcio_check(home)


@pytest.mark.slow  # a race between two runs, held at gates
def test_runs_at_once_write_files_of_their_own(server: str, home: Path) -> None:
    gates = [f"{uuid.uuid4().hex}-{n}" for n in range(3)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0"})
    # one request at a time: the page, then gate after gate (each held until opened, or 20 s)
    first = subprocess.Popen(
        [sys.executable, "-m", "collector", "capture", "--allow-private", "--json", "--per-host", "1",
         f"{server}/page/first-{gates[0]}", *(f"{server}/gate/{gate}" for gate in gates)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = home / "collector.db"
    try:
        # the first run has committed its page (so it holds its file) and waits at a gate
        deadline = time.monotonic() + 90
        while _rows(db) < 1 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None
        second = run(home, "capture", "--allow-private", "--json", f"{server}/page/second-{gates[0]}")
        assert second.returncode == 0, second.stderr.decode()
        # causality: the first run had not fetched its last gate, so its writer was still open
        with sqlite3.connect(db, timeout=5) as conn:
            last = conn.execute("select count(*) from captures where url like ?",
                                (f"%/gate/{gates[-1]}",)).fetchone()[0]
        assert last == 0, "the first run ended before the second wrote: too slow a machine"
    finally:
        for gate in gates:
            urllib.request.urlopen(f"{server}/open/{gate}", timeout=10).read()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    first_files = {json.loads(line)["warc_file"] for line in out.decode().splitlines() if line}
    second_files = {r["warc_file"] for r in lines(second)}
    assert len(first_files) == 1 and len(second_files) == 1
    assert first_files != second_files  # never two writers on one file
    assert len(list((home / "warcs").glob("*.warc.gz"))) == 2
    assert _verify(home) == 5
    warcio_check(home)
