"""Page requisites benchmark: capture throughput of N local pages with ~10 requisites each, with and
without requisites, in the same run.

    .venv/bin/python bench/requisites_bench.py [--pages 200] [--requisites 10] [--rounds 2]

Starts the requisite site of the tests (tests/collector/capture/requisite_site.py, 127.0.0.1), whose
``/bench/<i>?k=K`` pages each need K requisites (K-1 distinct images and one stylesheet every page
shares, so a run fetches about N*(K-1)+1 of them). Each round captures the N pages into a fresh home
(SQLite), once with ``requisites = false`` and once with ``requisites = true`` (alternating which goes
first), through ``collector.capture.run.stream_captures``, the code path of ``collector capture``.

Reported per mode: wall seconds, pages/s, captures/s (rows: pages and requisites), bytes of WARC
written, and the ratio with/without; the load average before and after. Written to
bench/out/requisites_bench.json. No asserts: compare figures of one run (other work on the machine
moves every figure).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.capture.run import stream_captures  # noqa: E402 - from the repository
from tests.collector.capture import requisite_site  # noqa: E402 - the tests' site
from tests.conftest import make_config  # noqa: E402 - the tests' config (private targets allowed)

OUT = ROOT / "bench" / "out" / "requisites_bench.json"


def _warc_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in (home / "warcs").glob("*.warc.gz"))


def one(site: str, pages: int, requisites: int, with_requisites: bool, round_no: int) -> dict[str, Any]:
    """Capture the pages once into a fresh home; the figures."""
    home = Path(tempfile.mkdtemp(prefix="requisites-bench-"))
    try:
        # per_host_concurrency 8: one local host serves everything (politeness would measure itself)
        config = make_config(home, requisites=with_requisites, per_host_concurrency=8, concurrency=16,
                             autothrottle=False)
        urls = [f"{site}/bench/r{round_no}-{int(with_requisites)}-{i}?k={requisites}" for i in range(pages)]
        loaded: list[dict[str, Any]] = []
        started = time.perf_counter()
        outcomes = stream_captures(config, urls, on_result=lambda _r: None, on_requisite=loaded.append)
        seconds = time.perf_counter() - started
        return {"requisites": with_requisites, "seconds": round(seconds, 3),
                "pages_per_s": round(pages / seconds, 2),
                "captures_per_s": round((pages + len(loaded)) / seconds, 2),
                "pages_captured": outcomes.get("captured", 0), "requisite_rows": len(loaded),
                "requisites_failed": sum(1 for r in loaded if r["outcome"] != "captured"),
                "warc_bytes": _warc_bytes(home)}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--requisites", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    proc, site = requisite_site.start()
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    try:
        for round_no in range(args.rounds):
            order = (False, True) if round_no % 2 == 0 else (True, False)
            for mode in order:
                run = one(site, args.pages, args.requisites, mode, round_no)
                runs.append(run)
                print(json.dumps(run), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load_after = os.getloadavg()

    def median(mode: bool, key: str) -> float:
        return statistics.median(r[key] for r in runs if r["requisites"] is mode)

    summary = {
        "pages": args.pages, "requisites_per_page": args.requisites, "rounds": args.rounds,
        "without": {k: median(False, k) for k in ("seconds", "pages_per_s", "warc_bytes")},
        "with": {k: median(True, k) for k in ("seconds", "pages_per_s", "captures_per_s", "warc_bytes",
                                              "requisite_rows")},
        "pages_per_s_ratio_with_over_without": round(median(True, "pages_per_s")
                                                     / median(False, "pages_per_s"), 3),
        "warc_bytes_ratio": round(median(True, "warc_bytes") / median(False, "warc_bytes"), 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "runs": runs,
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
