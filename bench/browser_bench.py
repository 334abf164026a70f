"""Browser-capture benchmark (issue 14). Run from the repository root:

    .venv/bin/python bench/browser_bench.py [--pages N] [--concurrency C]

The tests' local social web (tests/collector/capture/socialweb.py) serves N JavaScript pages
(``/bench/<i>``), each with 20 sub-resources (5 stylesheets, 5 scripts, 10 images) and its text written
by a script. Two runs in the same process, same Chromium (Debian's, by executable path), same
concurrency, visiting the same pages:

- bare: a Playwright loop recording nothing: Chromium launched with collector's launch options (its
  flags: ``PLAYWRIGHT_LAUNCH_OPTIONS`` of ``collector.capture.browser.browser_settings``), a fresh
  context per page, ``goto`` until the network is idle (Playwright's ``networkidle``), the rendered
  HTML read, the context closed;
- bare, routed: the same loop with every request passing a Python route that lets it go on (the
  mechanism of collector's SSRF guard, with no check): what the guard's routing alone costs;
- collector: ``capture_urls`` with ``browser = "always"`` and ``browser_concurrency`` C: the crawl
  process, every request and response recorded, the behaviours, screenshot and DOM, every row
  committed and the DOM's text extracted.

`--guarded`: the SSRF guard on (only 127.0.0.1 allowed), so Chromium runs behind the guard proxy.

Figures: pages/s of each and their ratio [target >= 0.7x], and the peak summed PSS of collector's
process tree (crawl, writer, extraction workers, Playwright's driver and Chromium's processes)
[target < 1.5 GB], sampled every 0.5 s. Each loop's CPU seconds per page are those of this process
and its descendants (Playwright's driver, every Chromium process; collector's crawl, writer and
extraction processes; not the site's server), sampled from /proc every 0.1 s (a process that exits
loses at most its last tenth of a second): on a shared machine, where wall time is noise, they say
what each page costs. The bench's own instruments run in this process and are left out of both
loops' CPU: the CPU sampler's thread, and, in collector's loop, the PSS sampler's (reading
smaps_rollup of every Chromium process every 0.1 s cost 0.13-0.17 s per page; every 0.5 s, a fifth
of it; ``instruments_cpu_s`` gives both).
``--rounds N`` runs the loops N times, interleaved (bare, routed, collector, bare, ...), and gives
the median of the rounds' ratios. No asserts: figures are printed and written to
bench/out/browser_bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.capture.browser import browser_settings, find_browser  # noqa: E402
from collector.capture.run import capture_urls  # noqa: E402
from collector.config import load_config  # noqa: E402
from tests.conftest import serve_script  # noqa: E402 - the tests' server starter
from tests.treemem import TreePeak  # noqa: E402

OUT = ROOT / "bench" / "out" / "browser_bench.json"
SITE = ROOT / "tests" / "collector" / "capture" / "socialweb.py"


async def bare_loop(urls: list[str], launch: dict[str, Any], concurrency: int, *,
                    route: bool = False) -> int:
    """Visit every URL with Playwright (Chromium started with ``launch``: collector's launch options),
    ``concurrency`` pages at a time; pages loaded. ``route``: every request passes a Python route that
    lets it go on (the mechanism of collector's SSRF guard, with no check): what routing alone costs."""
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
        browser = await playwright.chromium.launch(**launch)
        await asyncio.gather(*(worker(browser) for _ in range(concurrency)))
        await browser.close()
    return done


class TreeCpu:
    """Context manager: CPU seconds used by this process and its descendants (but ``exclude`` and
    its descendants) while it is entered, sampled from /proc every ``interval`` seconds, less what
    the instruments used: its own sampling thread, and each of ``instruments`` (``cpu_seconds``
    once they stopped: ``tests.treemem.TreePeak``). ``instruments_seconds``: what was left out."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, exclude: int, interval: float = 0.1, instruments: tuple[Any, ...] = ()) -> None:
        self.exclude = exclude
        self.interval = interval
        self.instruments = instruments
        self.seconds = 0.0
        self.instruments_seconds = 0.0
        self._own = 0.0  # CPU seconds of the sampling thread
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, *, first: bool = False) -> None:
        kids: dict[int, list[int]] = {}
        cpu: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            kids.setdefault(int(fields[1]), []).append(int(entry))
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / self.TICK
        todo = [os.getpid()]
        while todo:
            pid = todo.pop()
            if pid == self.exclude or pid not in cpu:
                continue
            todo.extend(kids.get(pid, []))
            # what a process used before the start is not counted; one born since counts from 0
            self._start.setdefault(pid, cpu[pid] if first else 0.0)
            self._last[pid] = max(self._last.get(pid, 0.0), cpu[pid])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.thread_time()
            self._sample()
            self._own += time.thread_time() - started

    def __enter__(self) -> TreeCpu:
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.instruments_seconds = self._own + sum(i.cpu_seconds for i in self.instruments)
        self.seconds = sum(self._last[pid] - self._start.get(pid, 0.0)
                           for pid in self._last) - self.instruments_seconds


def one_round(config: Any, urls: list[str], launch: dict[str, Any], concurrency: int, *,
              routed: bool, server: int) -> dict[str, Any]:
    """The bare loop, the routed bare loop (``routed``) and collector, one after the other."""
    out: dict[str, Any] = {}
    loops: list[tuple[str, Any]] = [("bare", lambda: asyncio.run(bare_loop(urls, launch, concurrency)))]
    if routed:
        loops.append(("bare_routed", lambda: asyncio.run(
            bare_loop(urls, launch, concurrency, route=True))))
    # every 0.5 s: each sample reads smaps_rollup of every Chromium process (~26 ms of CPU at 0.1 s
    # intervals took 13-17 s of a 100-page run, from the cores collector's loop is timed on); the
    # peak is a plateau (the browser with its pages open), which 0.5 s samples find
    peak = TreePeak(interval=0.5)

    def ours() -> int:
        with peak:
            results = capture_urls(config, urls)
        return sum(r["outcome"] == "captured" for r in results)

    loops.append(("collector", ours))
    for name, loop in loops:
        started = time.perf_counter()
        with TreeCpu(exclude=server, instruments=(peak,) if name == "collector" else ()) as tree:
            pages = loop()
        seconds, cpu = time.perf_counter() - started, tree.seconds
        out.update({f"{name}_pages": pages, f"{name}_seconds": round(seconds, 2),
                    f"{name}_pages_per_s": round(pages / seconds, 3),
                    f"{name}_cpu_s_per_page": round(cpu / max(1, pages), 3),
                    f"{name}_instruments_cpu_s": round(tree.instruments_seconds, 2)})
    rate = {name: out[f"{name}_pages_per_s"] for name, _ in loops}
    out["ratio"] = round(rate["collector"] / rate["bare"], 3)
    if routed:
        out["bare_routed_ratio"] = round(rate["bare_routed"] / rate["bare"], 3)
    out["cpu_ratio"] = round(out["bare_cpu_s_per_page"] / out["collector_cpu_s_per_page"], 3)
    out["peak_pss_mb"] = round(peak.peak / 2**20, 1)
    return out


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
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the loops this many times, interleaved; the median ratio is given")
    parser.add_argument("--no-routed", action="store_true", help="skip the routed bare loop")
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
            assert find_browser(config), "no Chromium"
            launch = browser_settings(config)["PLAYWRIGHT_LAUNCH_OPTIONS"]
            urls = [f"{base}/bench/{i}" for i in range(args.pages)]
            load_before = os.getloadavg()
            rounds = [one_round(config, urls, launch, args.concurrency, routed=not args.no_routed,
                                server=proc.pid)
                      for _ in range(args.rounds)]
            figures = {
                "pages": args.pages, "concurrency": args.concurrency, "extract": not args.no_extract,
                "guarded": args.guarded,
                "chromium": launch["executable_path"], "chromium_args": launch.get("args", []),
                **rounds[len(rounds) // 2],
                "ratio_median": statistics.median(r["ratio"] for r in rounds),
                "ratios": [r["ratio"] for r in rounds],
                "cpu_ratio_median": statistics.median(r["cpu_ratio"] for r in rounds),
                "peak_pss_mb": max(r["peak_pss_mb"] for r in rounds),
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
