"""Run locks: a running run's pending extractions are left to it; a dead run's are finished."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from collector.capture.runlock import RunLock, is_running
from collector.capture.writeproc import WriterLink
from storage import queries
from storage.archive import Archive
from tests.conftest import make_config
from tests.storage.helpers import html_capture

ROOT = Path(__file__).resolve().parents[3]
PAGE = b"<html><head><title>T</title></head><body><article><p>%s</p></article></body></html>"


def test_a_run_is_running_while_its_lock_is_held(tmp_path: Path) -> None:
    assert not is_running(tmp_path, "r1") and not is_running(tmp_path, None)
    lock = RunLock(tmp_path, "r1").acquire()
    assert is_running(tmp_path, "r1") and not is_running(tmp_path, "r2")
    lock.release()
    assert not is_running(tmp_path, "r1")
    assert not (tmp_path / "runs" / "r1.lock").exists()


def test_a_killed_run_is_not_running(tmp_path: Path) -> None:
    script = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path; "
              "from collector.capture.runlock import RunLock; "
              f"RunLock(Path({str(tmp_path)!r}), 'dead').acquire(); os._exit(9)")
    subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert (tmp_path / "runs" / "dead.lock").exists()  # left behind, but nobody holds it
    assert not is_running(tmp_path, "dead")


def test_pending_extractions_of_a_running_run_are_left_to_it(home: Path) -> None:
    config = make_config(home, extract_workers=1)
    body = PAGE % (b"A sentence of the article. " * 40)
    archive = Archive.open(config.db_url, config.warc_dir)
    [row] = archive.commit_captures([html_capture("https://example.com/a", body=body,
                                                  run_id="other")])
    archive.close()
    other = RunLock(home, "other").acquire()  # the run that made the capture is still running
    try:
        link = WriterLink(config, emit=lambda _r: None, info={"run-id": "second"}).start()
        link.close()
        archive = Archive.open(config.db_url, config.warc_dir)
        assert [r.id for r in queries.pending_extractions(archive.sessions)] == [row.id]
        archive.close()
    finally:
        other.release()
    # once that run is over (or dead), the next writer finishes its extraction
    WriterLink(config, emit=lambda _r: None, info={"run-id": "third"}).start().close()
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        assert queries.pending_extractions(archive.sessions) == []
        assert queries.captures_by_ids(archive.sessions, [row.id])[0].extraction_status == "ok"
    finally:
        archive.close()
