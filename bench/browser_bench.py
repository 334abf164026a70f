"""Browser-capture benchmark (issue 14). Run from the repository root:

    .venv/bin/python bench/browser_bench.py [--pages N] [--concurrency C]

The tests' local social web (tests/collector/capture/socialweb.py) serves N JavaScript pages
(``/bench/<i>``), each with 20 sub-resources (5 stylesheets, 5 scripts, 10 images) and its text written
by a script. Two runs in the same process, same Chromium (Debian's, by executable path), same
concurrency, visiting the same pages:

- bare: a Playwright loop recording nothing: a fresh context per page, ``goto`` until the network is
  idle (Playwright's ``networkidle``), the rendered HTML read, the context closed;
- bare, routed: the same loop with every request passing a Python route that lets it go on (the
  mechanism of collector's SSRF guard, with no check): what the guard's routing alone costs;
- collector: ``capture_urls`` with ``browser = "always"`` and ``browser_concurrency`` C: the crawl
  process, every request and response recorded, the behaviours, screenshot and DOM, every row
  committed and the DOM's text extracted.

`--guarded`: the SSRF guard on (only 127.0.0.1 allowed), so Chromium runs behind the guard proxy.

Figures: pages/s of each and their ratio [target >= 0.7x], and the peak summed PSS of collector's
process tree (crawl, writer, extraction workers, Playwright's driver and Chromium's processes)
[target < 1.5 GB]. No asserts: figures are printed and written to bench/out/browser_bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.capture.browser import find_browser  # noqa: E402
from collector.capture.run import capture_urls  # noqa: E402
from collector.config import load_config  # noqa: E402
from tests.conftest import serve_script  # noqa: E402 - the tests' server starter
from tests.treemem import TreePeak  # noqa: E402

OUT = ROOT / "bench" / "out" / "browser_bench.json"
SITE = ROOT / "tests" / "collector" / "capture" / "socialweb.py"


async def bare_loop(urls: list[str], executable: str, concurrency: int, *, route: bool = False) -> int:
    """Visit every URL with Playwright, ``concurrency`` pages at a time; pages loaded. ``route``: every
    request passes a Python route that lets it go on (the mechanism of collector's SSRF guard, with
    no check): what routing alone costs."""
    from playwright.async_api import async_playwright

    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    done = 0

    async def worker(browser: Any) -> None:
        nonlocal done
        while not queue.empty():
            url = queue.get_nowait()
            context = await browser.new_context()
            page = await context.new_page()
            if route:
                await page.route("**/*", lambda r, _request: r.continue_())
            await page.goto(url, wait_until="networkidle")
            await page.content()
            await context.close()
            done += 1

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True)
        await asyncio.gather(*(worker(browser) for _ in range(concurrency)))
        await browser.close()
    return done


def main() -> None:
    """Run both loops on the same pages and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-extract", action="store_true",
                        help="collector leaves the texts pending (extract = false): how much of the "
                             "difference is extraction")
    parser.add_argument("--guarded", action="store_true",
                        help="collector runs with the SSRF guard on (allow_private off, only 127.0.0.1 "
                             "in allow_hosts): Chromium behind the guard proxy (spiders/guardproxy.py)")
    args = parser.parse_args()
    proc, base = serve_script(SITE)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            guard = {"allow_private": False, "allow_hosts": "127.0.0.1"} if args.guarded else {
                "allow_private": True}
            config = load_config({"home": home, "browser": "always", **guard,
                                  "browser_concurrency": args.concurrency, "autothrottle": False,
                                  "per_host_concurrency": args.concurrency,
                                  "concurrency": args.concurrency,
                                  "extract": not args.no_extract}, env={})
            executable = find_browser(config)
            assert executable, "no Chromium"
            urls = [f"{base}/bench/{i}" for i in range(args.pages)]
            load_before = os.getloadavg()
            started = time.perf_counter()
            bare = asyncio.run(bare_loop(urls, executable, args.concurrency))
            bare_s = time.perf_counter() - started
            started = time.perf_counter()
            routed = asyncio.run(bare_loop(urls, executable, args.concurrency, route=True))
            routed_s = time.perf_counter() - started
            started = time.perf_counter()
            with TreePeak(interval=0.1) as peak:
                results = capture_urls(config, urls)
            ours_s = time.perf_counter() - started
            captured = sum(r["outcome"] == "captured" for r in results)
            figures = {
                "pages": args.pages, "concurrency": args.concurrency, "extract": not args.no_extract,
                "guarded": args.guarded,
                "chromium": executable,
                "bare_pages": bare, "bare_seconds": round(bare_s, 2),
                "bare_pages_per_s": round(bare / bare_s, 2),
                "bare_routed_pages_per_s": round(routed / routed_s, 2),
                "bare_routed_ratio": round((routed / routed_s) / (bare / bare_s), 3),
                "collector_pages": captured, "collector_seconds": round(ours_s, 2),
                "collector_pages_per_s": round(captured / ours_s, 2),
                "ratio": round((captured / ours_s) / (bare / bare_s), 3),
                "peak_pss_mb": round(peak.peak / 2**20, 1),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            }
    finally:
        proc.terminate()
    print(json.dumps(figures, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
