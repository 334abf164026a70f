"""WriterLink: the archive written by a process of its own, acks and results back to the crawl."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.capture.writeproc import Committed, WriterLink
from collector.errors import CollectorError
from storage import queries
from storage.archive import Archive
from tests.conftest import make_config, warcio_check
from tests.storage.helpers import T0, failed_capture, html_capture

PAGE = b"<html><head><title>Page %d</title></head><body><article><p>%s</p></article></body></html>"
ROOT = Path(__file__).resolve().parents[3]


def _page(i: int) -> bytes:
    return PAGE % (i, (b"Paragraph number %d of a story. " % i) * 40)


def test_every_attempt_is_committed_acked_and_its_result_emitted(home: Path) -> None:
    config = make_config(home, extract_workers=1)
    emitted: list[dict[str, Any]] = []
    lock = threading.Lock()

    def emit(result: dict[str, Any]) -> None:
        with lock:
            emitted.append(result)

    link = WriterLink(config, emit=emit, info={"run-id": "test"}).start()
    futures = [link.submit(html_capture(f"https://example.com/story/{i}",
                                        T0 + timedelta(seconds=i), body=_page(i)))
               for i in range(10)]
    futures.append(link.submit(failed_capture("https://down.example/")))
    committed = [f.result(timeout=60) for f in futures]
    link.close()
    assert all(isinstance(c, Committed) and c.id > 0 for c in committed)
    assert [c.outcome for c in committed] == ["captured"] * 10 + ["failed"]
    assert len({c.id for c in committed}) == 11
    # one result per attempt; HTML ones once their text is extracted (in the writer's pool)
    by_url = {r["url"]: r for r in emitted}
    assert len(emitted) == 11 and set(by_url) == {c.url for c in committed}
    assert all(by_url[f"https://example.com/story/{i}"]["text_sha256"] for i in range(10))
    assert by_url["https://down.example/"]["reason"] == "dns-error"
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        rows = queries.captures_by_ids(archive.sessions, [c.id for c in committed])
        assert [r.url for r in rows] == [c.url for c in committed]
        assert queries.pending_extractions(archive.sessions) == []
    finally:
        archive.close()
    warcio_check(home)


def test_congested_until_the_writer_acks(home: Path) -> None:
    link = WriterLink(make_config(home, extract_workers=0), emit=lambda _r: None,
                      max_items=1).start()
    try:
        future = link.submit(html_capture("https://example.com/a"))
        assert link.congested  # one attempt without its ack: the crawl would wait for it
        assert future.result(timeout=60).id > 0
        assert not link.congested
    finally:
        link.close()


def test_a_storage_failure_reaches_the_crawl_and_fails_its_waiting_attempts(home: Path) -> None:
    (home / "warcs").write_text("a file where the WARC directory should be")
    link = WriterLink(make_config(home, extract_workers=0), emit=lambda _r: None).start()
    future = link.submit(html_capture("https://example.com/a"))
    with pytest.raises(CollectorError):
        future.result(timeout=60)  # failed, not left waiting forever
    with pytest.raises(CollectorError, match="warcs"):
        link.close()
    assert link.error is not None


CRASHING_CRAWL = """
import os, sys
from datetime import timedelta
sys.path.insert(0, {root!r})
from collector.capture.writeproc import WriterLink
from tests.conftest import make_config
from tests.storage.helpers import T0, html_capture
from pathlib import Path

link = WriterLink(make_config(Path({home!r}), extract_workers=0), emit=lambda _r: None).start()
for i in range(20):
    link.submit(html_capture(f"https://example.com/{{i}}", T0 + timedelta(seconds=i)))
link._outbox.put(None)  # let the sender thread send all twenty, then die without closing
link._threads[0].join()
print(link._proc.pid, flush=True)
os._exit(0)
"""


def test_a_dead_crawl_leaves_the_writer_to_archive_everything_it_received(home: Path) -> None:
    out = subprocess.run([sys.executable, "-c", CRASHING_CRAWL.format(root=str(ROOT),
                                                                      home=str(home))],
                         capture_output=True, text=True, timeout=120, check=True)
    writer_pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 60
    while Path(f"/proc/{writer_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    config = make_config(home)
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        urls = sorted(r.url for r in queries.iter_captures(archive.sessions))
    finally:
        archive.close()
    assert urls == sorted(f"https://example.com/{i}" for i in range(20))
    warcio_check(home)
