"""Scrapy's own commands in the source tree (``scrapy.cfg`` -> ``collector.capture.project``):
``scrapy list`` finds the spiders, ``scrapy crawl capture -a url=URL`` archives the page."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from storage import retrieve
from storage.archive import Archive
from storage.queries import snapshots
from tests.collector.capture.test_run import fetch_raw
from tests.conftest import warcio_check

ROOT = Path(__file__).resolve().parents[3]  # the project directory, where scrapy.cfg is


def _scrapy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "SCRAPY_"))}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_ALLOW_PRIVATE": "1",
                "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0", "COLLECTOR_RETRY_TIMES": "0",
                "COLLECTOR_EXTRACT_WORKERS": "1"})
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_scrapy_list_finds_the_spiders(home: Path) -> None:
    assert (ROOT / "scrapy.cfg").is_file()
    listed = _scrapy(home, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["capture", "capture-queue", "feed"]  # capture-queue: the workers'


def test_scrapy_crawl_capture_archives_the_page(server: str, home: Path) -> None:
    url = server + "/page/scrapy-crawl"
    crawl = _scrapy(home, "crawl", "capture", "-a", f"url={url}")
    assert crawl.returncode == 0, crawl.stderr
    lines = [line.split(" INFO: archived ", 1)[1] for line in crawl.stderr.splitlines()
             if " INFO: archived " in line]
    assert len(lines) == 1, crawl.stderr
    result = json.loads(lines[0])
    served = fetch_raw(url)
    assert (result["url"], result["outcome"], result["http_status"]) == (url, "captured", 200)
    assert result["sha256"] == hashlib.sha256(served).hexdigest()
    assert result["extraction"] == "ok" and result["title"] == "Article scrapy-crawl"
    archive = Archive.open(f"sqlite:///{home / 'collector.db'}", home / "warcs")
    try:
        [record] = snapshots(archive.sessions, url)
    finally:
        archive.close()
    assert record.id == result["id"] and record.outcome == "captured"
    assert retrieve.capture_payload(home / "warcs", record) == served
    warcio_check(home)
