"""Crawl start-up benchmark: N consecutive run_crawl calls of one URL against a local server.

    .venv/bin/python bench/crawl_start_bench.py [--runs 6] [--start forkserver|spawn|both]
                                                [--path /status/404] [--extract]

Every crawl runs in a fresh child process (Twisted's reactor cannot be restarted). ``forkserver``
forks each child from a warm server that has imported Scrapy, Twisted, SQLAlchemy and storage once;
``spawn`` is the old path (a new interpreter and all imports per crawl). The page is fetched from the
test server (tests/server.py, 127.0.0.1) into an archive home in a temporary directory (SQLite). By
default the page is a 404 and no extraction pool is started (as in a feed poll), so the figures are
the fixed cost of a crawl; ``--extract`` fetches an HTML page with the extraction pool on.

Figures per start method: the first crawl (which for forkserver includes starting the server), the
median and min of the following ones. Written to bench/out/crawl_start_bench.json. No asserts.
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
OUT = ROOT / "bench" / "out" / "crawl_start_bench.json"
sys.path.insert(0, str(ROOT))


def _server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests/server.py")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    return proc, f"http://127.0.0.1:{port}"


def bench(start: str, base: str, *, runs: int, path: str, extract: bool) -> dict[str, Any]:
    """Time ``runs`` consecutive one-URL crawls started with ``start``."""
    from collector.capture.run import Target, run_crawl
    from collector.config import load_config
    from storage.archive import Archive

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config({"home": Path(tmp), "allow_private": True, "retry_times": 0,
                              "autothrottle_start_delay": 0.0, "extract_workers": 1}, env={})
        Archive.open(config.db_url, config.warc_dir).close()  # the archive exists, at head
        times = []
        for i in range(runs):
            url = f"{base}{path}{'&' if '?' in path else '?'}run={i}"
            began = time.perf_counter()
            results = run_crawl(config, [Target(url=url, given=url)], extract=extract,
                                start_method=start)
            times.append(time.perf_counter() - began)
            outcome = results[0]["outcome"]
            print(f"{start:10} crawl {i + 1}: {times[-1]:.3f} s ({outcome}, "
                  f"HTTP {results[0]['http_status']})", flush=True)
    rest = times[1:] or times
    return {"first_s": round(times[0], 3), "median_s": round(statistics.median(rest), 3),
            "min_s": round(min(rest), 3), "all_s": [round(t, 3) for t in times]}


def main() -> None:
    """Run the benchmark and print/write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--start", choices=["forkserver", "spawn", "both"], default="both")
    parser.add_argument("--path", default="/status/404")
    parser.add_argument("--extract", action="store_true")
    args = parser.parse_args()
    path = "/page/bench" if args.extract and args.path == "/status/404" else args.path
    server, base = _server()
    figures: dict[str, Any] = {"runs": args.runs, "path": path, "extract": args.extract}
    try:
        for start in (["spawn", "forkserver"] if args.start == "both" else [args.start]):
            figures[start] = bench(start, base, runs=args.runs, path=path, extract=args.extract)
    finally:
        server.terminate()
        server.wait(timeout=10)
    if "spawn" in figures and "forkserver" in figures:
        figures["speedup_median"] = round(figures["spawn"]["median_s"]
                                          / figures["forkserver"]["median_s"], 2)
    print(json.dumps(figures, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
