"""SIGKILL in the middle of a capture run: nothing committed may point at missing or torn data."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.archive import Archive
from storage.queries import pending_extractions
from storage.verify import verify_archive
from storage.warcread import read_record_at
from tests.collector.cli.test_cli import lines, run
from tests.conftest import make_config, warcio_check

pytestmark = pytest.mark.slow  # SIGKILL mid-run


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("select count(*) from captures").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def kill_capture_mid_run(server: str, home: Path, tmp_path: Path, *, after_rows: int = 40) -> None:
    """Start ``collector capture`` of 600 pages in ``home``, SIGKILL its process group once
    ``after_rows`` capture rows are committed, and wait for it to be gone."""
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(f"{server}/many/{i}" for i in range(600)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0.02"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "capture", "--allow-private", "--json",
         "--from-file", str(urls)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    db = home / "collector.db"
    deadline = time.monotonic() + 90
    while _rows(db) < after_rows and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed: give it more URLs"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.5)  # let the killed children go


def test_sigkill_mid_run_leaves_a_consistent_archive(server: str, home: Path,
                                                     tmp_path: Path) -> None:
    kill_capture_mid_run(server, home, tmp_path)

    config = make_config(home)
    killed_files = sorted(p.name for p in config.warc_dir.glob("*.warc.gz"))
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        report = verify_archive(archive.sessions, config.warc_dir)
        assert report.ok, report.problems  # every committed row points at intact records
        committed = report.captures_checked
        assert committed >= 40
        for warning in report.warnings:
            assert warning["kind"] == "torn-tail"
        torn = {warning["warc_file"] for warning in report.warnings}
        sizes = {name: (config.warc_dir / name).stat().st_size for name in killed_files}

    finally:
        archive.close()

    # the next run finishes the extraction left pending; it appends to the killed run's file only
    # when that file's tail is whole, never after a torn one (a new file then)
    again = run(home, "capture", "--allow-private", "--json", f"{server}/many/after-crash")
    assert again.returncode == 0, again.stderr.decode()
    assert lines(again)[0]["outcome"] == "captured"
    for name in torn:
        assert (config.warc_dir / name).stat().st_size == sizes[name], name
    new_files = sorted(set(p.name for p in config.warc_dir.glob("*.warc.gz")) - set(killed_files))
    new_files += [name for name in killed_files
                  if (config.warc_dir / name).stat().st_size != sizes[name]]
    assert lines(again)[0]["warc_file"] in new_files
    if lines(again)[0]["warc_file"] in killed_files:
        assert not torn & set(new_files)
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        assert pending_extractions(archive.sessions) == []
        report = verify_archive(archive.sessions, config.warc_dir)
        assert report.ok, report.problems
        assert report.captures_checked == committed + 1
    finally:
        archive.close()
    export = tmp_path / "new"
    (export / "warcs").mkdir(parents=True)
    for name in new_files:
        (export / "warcs" / name).write_bytes((config.warc_dir / name).read_bytes())
    warcio_check(export)
    # the good records of the killed run's files are still readable
    for name in killed_files:
        first = read_record_at(config.warc_dir, name, 0)
        assert first.type == "warcinfo"
