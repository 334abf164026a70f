"""Replaying a very large page keeps ``collector serve``'s memory bounded: the framed (rewritten) form is
cut at ``replay_max_html_bytes`` with a notice, the raw form is streamed from the WARC. Measured as the
server process's peak RSS (``VmHWM``), no timings."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest

from storage.archive import Archive
from storage.records import CaptureInput
from tests.collector.server.conftest import at
from tests.collector.server.helpers import fetch
from tests.storage.helpers import exchange

pytestmark = pytest.mark.slow

STAMP = "20240501120000"
SITE = "https://big.example.org"
MB = 1024 * 1024
# generous: a few MB of HTML to rewrite and chunks in flight, far from the ~1 GB the whole page took
PEAK_GROWTH_BOUND = 250 * MB


def _big_page(size: int) -> bytes:
    row = '<p id="p{i}">Paragraph {i} of a long page, <a href="/item/{i}">a link</a>, <b>bold</b>.</p>\n'
    rows = []
    total = 0
    i = 0
    while total < size:
        line = row.format(i=i).encode()
        rows.append(line)
        total += len(line)
        i += 1
    return b"<html><head><title>Big</title></head><body><p>FIRST-PART</p>\n" + b"".join(rows) + \
        b"<p>LAST-PART</p></body></html>"


def _capture(path: str, body: bytes, coding: str | None) -> CaptureInput:
    url = SITE + path
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if coding:
        headers.append(("Content-Encoding", coding))
    return CaptureInput(url=url, captured_at=at(STAMP), outcome="captured", final_url=url,
                        exchanges=[exchange(url, at(STAMP), body=body, headers=headers)],
                        redirect_chain=[{"url": url, "status": 200}])


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def big_archive(tmp_path: Path) -> Iterator[tuple[str, int, bytes]]:
    home = tmp_path / "bighome"
    page = _big_page(30 * MB)
    archive = Archive.open(f"sqlite:///{home / 'collector.db'}", home / "warcs")
    try:
        archive.commit_captures([_capture("/small", b"<html><body><p>small</p></body></html>", None),
                                 _capture("/page", page, None),
                                 _capture("/gzipped", gzip.compress(page, compresslevel=1), "gzip")])
    finally:
        archive.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", "0", "--read-only",
                             "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("collector serving "), line + (proc.stderr.read() if proc.stderr else "")
        yield line.split(" on ", 1)[1].split()[0], proc.pid, page
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_a_30_mb_page_replays_in_bounded_memory(big_archive: tuple[str, int, bytes]) -> None:
    base, pid, page = big_archive
    warm = fetch(f"{base}/web/{STAMP}if_/{SITE}/small")  # every module of a replay loaded
    assert warm.status == 200 and fetch(f"{base}/web/{STAMP}id_/{SITE}/small").status == 200
    before = _peak_rss(pid)  # one worker: the server runs in this process
    for path in ("/page", "/gzipped"):
        framed = fetch(f"{base}/web/{STAMP}if_/{SITE}{path}")
        assert framed.status == 200, framed.text[:300]
        doc = lxml.html.document_fromstring(framed.body)
        [notice] = doc.xpath("//p[@class='archive-notice']")
        assert f"longer than {5 * MB} bytes" in notice.text_content()
        assert f"{STAMP}dl_/{SITE}{path}" in notice.text_content()
        assert doc.xpath("//p[@id='p1000']") and "LAST-PART" not in framed.text
    raw = fetch(f"{base}/web/{STAMP}id_/{SITE}/page")
    assert raw.status == 200 and raw.header("content-length") == str(len(page))
    assert hashlib.sha256(raw.body).digest() == hashlib.sha256(page).digest()
    del raw
    download = fetch(f"{base}/web/{STAMP}dl_/{SITE}/gzipped")
    assert download.status == 200 and download.header("content-encoding") == "gzip"
    assert gzip.decompress(download.body) == page
    growth = _peak_rss(pid) - before
    print(f"server peak RSS grew by {growth / MB:.0f} MB replaying a {len(page) / MB:.0f} MB page")
    assert growth < PEAK_GROWTH_BOUND, f"peak RSS grew by {growth / MB:.0f} MB"
