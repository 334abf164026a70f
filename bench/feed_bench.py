"""Feed polling benchmark (issue 5): 500 feeds on the local web polled in one cycle; the 304 path.

    .venv/bin/python bench/feed_bench.py [--feeds 500] [--cycles 3]

The local feed server of the tests (tests/collector/monitor/feedserver.py) serves ``/bench/<i>.xml``:
static RSS 2.0 feeds of 20 entries with an ETag, answering ``304`` to a matching ``If-None-Match``.
An archive home in a temporary directory (SQLite) gets ``--feeds`` feeds without keywords (entries are
recorded, no article is captured). Then:

- cycle 1: every feed fetched (200), archived, parsed, its 20 entries stored;
- cycles 2..N: every feed answers 304 (the poll is still archived as a capture, and recorded).

Figures: wall time of each cycle, split into the crawl (child process: Scrapy, WARC, rows) and the
rest (reading the archived documents back, feedparser, dedup and entry rows, feed state); per feed;
the 304 cycle over the full cycle (target < 0.2); the fixed cost of a cycle (a one-feed 304 poll: the
child process start) and the ratio of the per-feed (marginal) costs. Written to
bench/out/feed_bench.json. No asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "feed_bench.json"
sys.path.insert(0, str(ROOT))


def _server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests/collector/monitor/feedserver.py")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    return proc, f"http://127.0.0.1:{port}"


def _cycle(config: Any, names: list[str] | None = None) -> dict[str, Any]:
    import collector.feedcrawl as feedcrawl
    from collector.feeds import poll_feeds

    crawl = {"seconds": 0.0}
    fetch = feedcrawl.fetch_feeds

    def timed(*args: Any, **kwargs: Any) -> Any:  # measure the crawl inside the poll
        started = time.perf_counter()
        try:
            return fetch(*args, **kwargs)
        finally:
            crawl["seconds"] += time.perf_counter() - started

    feedcrawl.fetch_feeds = timed  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        report = poll_feeds(config, names)
        total = time.perf_counter() - started
    finally:
        feedcrawl.fetch_feeds = fetch  # type: ignore[assignment]
    outcomes: dict[str, int] = {}
    for polled in report.feeds:
        outcomes[polled.outcome] = outcomes.get(polled.outcome, 0) + 1
    return {"seconds": round(total, 3), "crawl_seconds": round(crawl["seconds"], 3),
            "rest_seconds": round(total - crawl["seconds"], 3), "outcomes": outcomes,
            "new_entries": len(report.entries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args()

    from collector.config import load_config
    from collector.feeds import add_feed

    proc, base = _server()
    home = Path(tempfile.mkdtemp(prefix="feed-bench-"))
    config = load_config({"home": home, "allow_private": True, "autothrottle_start_delay": 0.0,
                          "retry_times": 0, "per_host_concurrency": 32, "autothrottle": False},
                         env={})
    try:
        for i in range(args.feeds):
            add_feed(config, f"{base}/bench/{i}.xml", name=f"bench-{i}", every=3600)
        cycles = [_cycle(config) for _ in range(max(args.cycles, 2))]
        fixed = statistics.median(_cycle(config, ["bench-0"])["seconds"] for _ in range(3))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    full, not_modified = cycles[0], cycles[1:]
    median_304 = statistics.median(c["seconds"] for c in not_modified)
    result = {
        "feeds": args.feeds, "entries_per_feed": 20,
        "full_cycle": full, "not_modified_cycles": not_modified,
        "full_seconds_per_feed_ms": round(1000 * full["seconds"] / args.feeds, 2),
        "not_modified_seconds_per_feed_ms": round(1000 * median_304 / args.feeds, 2),
        "ratio_304_over_full": round(median_304 / full["seconds"], 3),
        "target_ratio": 0.2,
        # the cost of one poll cycle whatever its size (a child process: interpreter, Scrapy, database)
        "fixed_cycle_seconds": round(fixed, 3),
        "marginal_ratio_304_over_full": round((median_304 - fixed) / (full["seconds"] - fixed), 3),
        "settings": "SQLite, per-host concurrency 32 (one local host), AutoThrottle off",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
