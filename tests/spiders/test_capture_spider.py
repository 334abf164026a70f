"""The capture spider reads its targets lazily: the scheduler never holds the whole URL list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from spiders.capture import CaptureSpider

ROOT = Path(__file__).resolve().parents[2]

CRAWL = """
import json, sys
from pathlib import Path
from collector.capture.run import Target, crawl_in_process
from tests.conftest import make_config
base, home, n, spider = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
urls = [f"{base}/page/{i}" for i in range(n)]
seen = []
crawl_in_process(make_config(home, extract_workers=0, per_host_concurrency=2, concurrency=4),
                 [Target(url=u, given=u) for u in urls], seen.append, spider=spider, extract=False)
print(json.dumps(sorted(r["outcome"] for r in seen).count("captured")))
"""


def _crawl(server: str, tmp_path: Path, n: int, backlog: int) -> tuple[int, int, int]:
    most = tmp_path / f"most-{backlog}"
    env = {**os.environ, "COLLECTOR_TEST_MOST": str(most), "COLLECTOR_TEST_BACKLOG": str(backlog)}
    done = subprocess.run(
        [sys.executable, "-c", CRAWL, server, str(tmp_path / f"home-{backlog}"), str(n),
         "tests.spiders.counting_spider.CountingSpider"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    most_seen, starved = map(int, most.read_text().split())
    return int(done.stdout.strip().splitlines()[-1]), most_seen, starved


def test_scheduler_holds_at_most_the_backlog_limit(server: str, tmp_path: Path) -> None:
    captured, most, _ = _crawl(server, tmp_path, 120, backlog=8)
    assert captured == 120  # every target still fetched
    assert most <= 8
    # the same crawl with a limit above the target count queues most of them at once
    _, unbounded, _ = _crawl(server, tmp_path, 120, backlog=1000)
    assert unbounded > 8 * 4


def test_scheduler_is_refilled_before_it_runs_empty(server: str, tmp_path: Path) -> None:
    # refilled once half the backlog is gone: with the backlog above twice the concurrency (4),
    # the downloader can never take the last waiting request before the refill; refilled only once
    # empty (as before), the scheduler ran empty at every refill, ~(120 - 12) / 12 times
    captured, most, starved = _crawl(server, tmp_path, 120, backlog=12)
    assert captured == 120
    assert most <= 12
    assert starved == 0


def test_url_argument_gives_the_targets() -> None:
    """``scrapy crawl capture -a url=...``: one target per URL (space-separated); targets win."""
    assert list(CaptureSpider(url="http://a.test/x  http://b.test/y").targets) == [
        {"url": "http://a.test/x"}, {"url": "http://b.test/y"}]
    assert list(CaptureSpider(targets=[{"url": "http://c.test/"}], url="http://a.test/").targets) == [
        {"url": "http://c.test/"}]
    assert list(CaptureSpider().targets) == []
    request = CaptureSpider(url="http://a.test/x").request_for({"url": "http://a.test/x"})
    assert request.url == "http://a.test/x" and request.meta["collector_target"] == {"url": "http://a.test/x"}
