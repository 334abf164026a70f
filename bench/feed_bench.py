"""Feed polling benchmark (issue 5): 500 feeds on the local web polled in one cycle; the 304 path.

    .venv/bin/python bench/feed_bench.py [--feeds 500] [--cycles 3]

The local feed server of the tests (tests/collector/monitor/feedserver.py) serves ``/bench/<i>.xml``:
static RSS 2.0 feeds of 20 entries with an ETag, answering ``304`` to a matching ``If-None-Match``.
An archive home in a temporary directory (SQLite) gets ``--feeds`` feeds without keywords (entries are
recorded, no article is captured). Then:

- cycle 1: every feed fetched (200), archived, parsed, its 20 entries stored;
- cycles 2..N: every feed answers 304 (the poll is still archived as a capture, and recorded).

Figures: wall time of each cycle, split into the crawl (child process: Scrapy, WARC, rows) and the
rest (reading the archived documents back, feedparser, dedup and entry rows, feed state), with the
time of each phase (``phases``: connect, select_feeds, fetch_feeds = the crawl, read_feeds = all the
per-feed work after it, of which read_and_parse, unchanged_check and store_entries; record_polls,
pending_entries, capture_articles); per feed;
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


# the phases of a cycle, timed by wrapping the functions that do them (module attributes are looked
# up at call time). Without callbacks (as here and in the daemon) poll_feeds reads the feeds after
# the crawl, so fetch_feeds is the crawl alone: the child process (start-up, Scrapy, WARC, rows).
PHASES = {
    "connect": ("collector.monitor.feeds", "_sessions"),
    "select_feeds": ("collector.monitor.feeds", "_select"),
    "fetch_feeds": ("collector.monitor.feedcrawl", "fetch_feeds"),
    "read_feeds": ("collector.monitor.feeds", "_Poll._read"),
    "read_and_parse": ("collector.monitor.feeds", "_fetched"),
    "unchanged_check": ("collector.monitor.feeds", "_same_document"),
    "store_entries": ("storage.feeds", "store_entries"),
    "record_polls": ("storage.feeds", "record_polls"),
    "pending_entries": ("storage.feeds", "pending_entries"),
    "capture_articles": ("collector.monitor.feeds", "_Poll.capture"),
}


def _timed(totals: dict[str, float]) -> list[tuple[Any, str, Any]]:
    """Wrap every phase's function; return what to restore."""
    import importlib

    restore = []
    for phase, (module_name, path) in PHASES.items():
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        original = getattr(owner, name)

        def wrapper(*args: Any, _f: Any = original, _p: str = phase, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                totals[_p] = totals.get(_p, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)
        restore.append((owner, name, original))
    return restore


def _cycle(config: Any, names: list[str] | None = None) -> dict[str, Any]:
    from collector.monitor.feeds import poll_feeds

    totals: dict[str, float] = {}
    restore = _timed(totals)
    try:
        started = time.perf_counter()
        report = poll_feeds(config, names)
        total = time.perf_counter() - started
    finally:
        for owner, name, original in restore:
            setattr(owner, name, original)
    outcomes: dict[str, int] = {}
    for polled in report.feeds:
        outcomes[polled.outcome] = outcomes.get(polled.outcome, 0) + 1
    phases = {k: round(v, 3) for k, v in sorted(totals.items())}
    crawl = totals.get("fetch_feeds", 0.0)
    return {"seconds": round(total, 3), "crawl_seconds": round(crawl, 3),
            "rest_seconds": round(total - crawl, 3), "outcomes": outcomes,
            "new_entries": len(report.entries), "phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args()

    from collector.config import load_config
    from collector.monitor.feeds import add_feed

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
