"""Check benchmark (issue "Check"): checking archived URLs costs at most 1.5x capturing them.

    .venv/bin/python bench/check_bench.py [--urls 1000]

Serves the trafilatura-eval corpus through the proxy site of bench/capture_bench.py (10 URLs per
made-up host), captures every URL once (the baselines), then measures in the same run, each in a fresh
process: a plain re-capture of the same URLs, and ``run_checks`` over them (capture + verdicts with
text similarity and quote matching + one soft-404 probe per host whose verdicts depend on it). Then
the web changes (every URL shows another page): a check of the changed web (each verdict needs its
host's probe; 1,000 new pages to extract), and a capture of a web changed once more (1,000 new pages
to extract). Prints both pairs of times and their ratios (target <= 1.5); writes
bench/out/check_bench.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capture_bench import CORPUS, capture_child, in_child, make_urls, start_site, wait_quiet

OUT = Path(__file__).resolve().parent / "out" / "check_bench.json"


def check_child(config: Any, urls: list[str]) -> dict[str, Any]:
    """run_checks as a caller runs it."""
    from collector.check.run import CheckTarget, run_checks

    started = time.perf_counter()
    results = run_checks(config, [CheckTarget(url=u, quotes=("the",)) for u in urls], seed=1)
    return {"seconds": time.perf_counter() - started,
            "statuses": dict(Counter(r["status"] for r in results))}


def report(name: str, capture: dict[str, Any], check: dict[str, Any]) -> float:
    """Print and return the check/capture time ratio of one web."""
    ratio = check["seconds"] / capture["seconds"]
    print(f"{name} web: capture {capture['seconds']:.1f} s; check {check['seconds']:.1f} s "
          f"{check['statuses']} = {ratio:.2f}x a capture (target <= 1.5)")
    return ratio


def shift(port: int, n: int) -> None:
    """Make every page of the proxy site show another page's content (``n`` pages on)."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/_shift/{n}") as response:
        response.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--start-delay", type=float, default=0.1)
    args = parser.parse_args()
    manifest = CORPUS / "manifest.jsonl"
    if not manifest.is_file():
        print(f"corpus not found at {CORPUS}: nothing to benchmark")
        return 0
    from collector.config import load_config

    server, port = start_site()
    urls = make_urls(args.urls)
    summary: dict[str, Any] = {"urls": len(urls)}
    try:
        with tempfile.TemporaryDirectory(prefix="check-bench-") as tmp:
            config = load_config({"home": Path(tmp) / "home", "allow_private": True,
                                  "autothrottle_start_delay": args.start_delay}, env={})
            base = in_child(capture_child, config, urls)
            print(f"baseline capture: {base['seconds']:.1f} s {base['outcomes']}")
            summary["busy_before_capture"] = wait_quiet(30.0)
            capture = summary["capture"] = in_child(capture_child, config, urls)
            summary["busy_before_check"] = wait_quiet(30.0)
            check = summary["check"] = in_child(check_child, config, urls)
            summary["check_vs_capture"] = report("unchanged", capture, check)
            # every page changes (shift 1), is checked; changes again (shift 2), is captured: each
            # run meets new pages to extract, and every check verdict needs its host's probe
            shift(port, 1)
            summary["busy_before_changed_check"] = wait_quiet(30.0)
            check2 = summary["changed_check"] = in_child(check_child, config, urls)
            shift(port, 2)
            summary["busy_before_changed_capture"] = wait_quiet(30.0)
            capture2 = summary["changed_capture"] = in_child(capture_child, config, urls)
            summary["changed_check_vs_capture"] = report("changed", capture2, check2)
    finally:
        server.terminate()
        server.join()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
