"""Capture-core benchmark (issue "Capture core"). Run from the repository root:

    .venv/bin/python bench/capture_bench.py [--urls N] [--full] [--memory] [--lookup-rows R]

(``--urls 200 --lookup-rows 20000`` for a quick run.) A local asyncio server on 127.0.0.1 acts as an
HTTP proxy: ``GET http://siteNNN.test/page/<i>`` gets page ``i mod 990`` of the trafilatura-eval
corpus (decompressed from /work/shared/corpora, never copied), ``/robots.txt`` allows all. Captures
reach it via ``http_proxy``, so per-host politeness applies (10 URLs per host). Settings: Config
defaults, ``autothrottle_start_delay`` 0.1 s (``--start-delay``); the bare Scrapy crawl gets the same
settings dict minus collector's middlewares, extensions and pipeline, with Scrapy's own AutoThrottle
(the same per-host delays: before, bare Scrapy crawled unthrottled, ``--unthrottled-bare``).
Each run has its own process.
Figures, targets in brackets: archive path (extraction off) vs bare pages/s [>= 0.5x]; the capture
command's path with --no-extract (stream_captures, extraction left pending) vs bare [>= 0.8x], then
extract --pending on what it archived (``--only-no-extract``: bare, these two and nothing else);
ExtractionPool(2) vs trafilatura in one process [>= 1.6x]; capture_urls with 2 workers vs extraction
alone on 2 processes [<= 1.25x]; bytes added per unchanged page re-captured [< 2 KB];
closest_capture median over 1,000,000 SQLite rows [< 2 ms]; with --memory/--full, the peak memory of
the capture process tree over 20,000 URLs [< 400 MB], as summed PSS (shared pages split between the
processes sharing them; summed RSS, which counts them once per process, is printed beside it).
Each phase first waits (--quiet-wait) for an idle machine, and reports the CPU other processes used
meanwhile. The archive path and --no-extract phases fetch what bare Scrapy fetches: the pages alone
(requisites off, as ``capture --no-requisites``); the corpus pages name ~23 requisites each (images,
stylesheets: 404 from the site), which a default capture fetches too, one row each: with
``--requisites`` they are fetched, and every fetch (page or requisite) is counted in the rate.
No asserts: figures are printed and written to bench/out/capture_bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gzip
import json
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collector.config import Config

CORPUS = Path("/work/shared/corpora/trafilatura-eval")
OUT = Path(__file__).resolve().parent / "out" / "capture_bench.json"
URLS_PER_HOST = 10


# -- the proxy site (own process) ------------------------------------------------------------------
class ProxySite(asyncio.Protocol):
    """HTTP/1.1 keep-alive server answering absolute-form (proxy) and origin-form GETs."""

    shift = 0  # set by GET /_shift/<n>: every page shows another page's content

    def __init__(self, pages: list[bytes]) -> None:
        self.pages, self.buf = pages, b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            head, self.buf = self.buf[:end], self.buf[end + 4:]
            line, _, headers = head.partition(b"\r\n")
            target = [*line.split(b" "), b"/", b""][1]
            if b"://" in target:
                target = b"/" + target.split(b"://", 1)[1].partition(b"/")[2]
            path = target.split(b"?", 1)[0]
            status, ctype, body = b"404 Not Found", b"text/plain", b"not found"
            if path.startswith(b"/_shift/"):  # the web changes: /page/i now serves page i + n
                ProxySite.shift = int(path[8:])
                status, body = b"200 OK", b"ok"
            elif path == b"/robots.txt":
                status, body = b"200 OK", b"User-agent: *\nAllow: /\n"
            elif path.startswith(b"/page/") and path[6:].isdigit():
                status, ctype = b"200 OK", b"text/html; charset=utf-8"
                body = self.pages[(int(path[6:]) + ProxySite.shift) % len(self.pages)]
            self.transport.write(b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                                 % (status, ctype, len(body)))
            self.transport.write(body)
            if b"connection: close" in headers.lower():
                return self.transport.close()


def serve(files: list[str], conn: Any) -> None:
    """Server process: load the corpus pages, send the port, serve until terminated."""
    pages = [gzip.decompress(Path(f).read_bytes()) for f in files]

    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: ProxySite(pages), "127.0.0.1", 0, backlog=2048)
        conn.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(run())


async def site_rate(port: int, n: int, conns: int = 32) -> float:
    """Pages/s the site alone serves to a keep-alive asyncio client (a lower bound: client CPU too)."""
    async def worker(ids: range) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in ids:
            writer.write(b"GET http://site%03d.test/page/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (i % 200, i))
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r")[0]))
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(range(k, n, conns)) for k in range(conns)))
    return n / (time.perf_counter() - started)


# -- measurements, each in a fresh spawned process --------------------------------------------------
def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a spawned process; its result plus the peak summed RSS and the CPU time of
    the process and its descendants (sampled every 0.2 s), and the CPU time every other process on
    the machine used meanwhile (the site server included: a sign of outside interference)."""
    receive, send = mp.get_context("spawn").Pipe(duplex=False)
    proc = mp.get_context("spawn").Process(target=_child_main, args=(fn, args, send))
    proc.start()
    send.close()
    peak, peak_pss, cpu, machine = 0, 0, dict[int, float](), busy_seconds()
    at_peak: dict[int, int] = {}
    files_at_peak: dict[int, int] = {}
    labels: dict[int, str] = {}
    while proc.pid and proc.is_alive() and not receive.poll(0.2):
        snap = tree_stats(proc.pid)
        peak = max(peak, sum(rss for rss, _ in snap.values()))
        parts = {pid: pss_parts(pid) for pid in snap}
        each = {pid: p.get("Pss", 0) for pid, p in parts.items()}
        labels.update({pid: role(pid, proc.pid) for pid in snap if pid not in labels})
        if sum(each.values()) > peak_pss:
            peak_pss, at_peak = sum(each.values()), each
            files_at_peak = {pid: p.get("Pss_File", 0) for pid, p in parts.items()}
        cpu.update({pid: max(seconds, cpu.get(pid, 0.0)) for pid, (_, seconds) in snap.items()})
    try:
        result = receive.recv()
    except EOFError:  # the child died without a word
        result = {}
    proc.join()
    if "error" in result or not result:
        raise RuntimeError(f"{fn.__name__} failed ({proc.exitcode}): {result.get('error')}")
    machine, tree = busy_seconds() - machine, sum(cpu.values())
    return {**result, "peak_rss_mb": peak / 2**20, "peak_pss_mb": peak_pss / 2**20,
            "pss_mb_at_peak": {f"{pid} {labels.get(pid, '?')}": round(v / 2**20, 1)
                               for pid, v in at_peak.items()},
            "pss_file_mb_at_peak": round(sum(files_at_peak.values()) / 2**20, 1),
            "tree_cpu_s": tree, "other_cpu_s": machine - tree,
            # where the tree's CPU went: the measured process (depth 0), its children (the crawl
            # child, depth 1), their forks (the writer, depth 2) ...
            "cpu_s_by_process": {f"{pid} {labels.get(pid, '?')}": round(v, 2) for pid, v in cpu.items()}}


def _child_main(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], conn: Any) -> None:
    try:
        conn.send(fn(*args))
    except BaseException:
        conn.send({"error": traceback.format_exc()})


def bare_crawl(config: Config, urls: list[str]) -> dict[str, Any]:
    """Stock Scrapy with collector's settings dict, no pipeline, middlewares or extensions of ours."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from collector.capture.scrapy_settings import scrapy_settings

    statuses: Counter[str] = Counter()

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

        def parse(self, response: Any, **_: Any) -> None:
            statuses[str(response.status)] += 1

        def failed(self, failure: Any) -> None:
            statuses[type(failure.value).__name__] += 1

    # the same politeness as collector's crawl: Scrapy's own AutoThrottle (PoliteThrottle is
    # AutoThrottle plus robots.txt Crawl-delay floors and 429/503 back-off) under the same settings;
    # without it (UNTHROTTLED_BARE, --unthrottled-bare) bare Scrapy ignores the per-host delays
    extensions = {} if UNTHROTTLED_BARE[0] else {"scrapy.extensions.throttle.AutoThrottle": 0}
    started = time.perf_counter()
    process = CrawlerProcess(settings=scrapy_settings(
        config, EXTENSIONS=extensions, DOWNLOADER_MIDDLEWARES={}, ITEM_PIPELINES={}))
    process.crawl(Bare)
    process.start()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages_per_s": len(urls) / seconds, "statuses": dict(statuses)}


def archive_crawl(config: Config, urls: list[str]) -> dict[str, Any]:
    """collector's crawl_in_process (fetch, WARC, digests, rows committed) with no extraction pool.

    The modules it imports are imported before the clock starts, as bare_crawl imports Scrapy
    before its clock: both measure crawling, not importing."""
    import scrapy.crawler  # noqa: F401

    import collector.capture.pipeline
    import collector.capture.writeproc
    import collector.capture.writer  # noqa: F401
    import storage.archive  # noqa: F401
    from collector.capture.run import Target, crawl_in_process

    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    crawl_in_process(config, [Target(url=u, given=u) for u in urls], results.append, extract=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages_per_s": len(urls) / seconds, "results": len(results),
            "outcomes": dict(Counter(str(r["outcome"]) for r in results))}


def extract(config: Config, workers: int) -> dict[str, Any]:
    """Extract every archived page: ``workers`` 0 runs extract_html (trafilatura) in this process on
    payloads read beforehand, else ExtractionPool(workers) reads them back from the WARCs."""
    from collector.capture.extract_pool import ExtractionPool
    from collector.capture.extraction import extract_html
    from storage.database import connect
    from storage.queries import iter_captures
    from storage.warcread import read_record_at

    sessions = connect(config.db_url)
    records = [r for r in iter_captures(sessions) if r.payload_file and r.outcome == "captured"]
    sessions.kw["bind"].dispose()
    statuses, lock, finished, cpu = Counter[str](), threading.Lock(), threading.Event(), 0.0
    if not workers:
        pages = [(read_record_at(config.warc_dir, r.payload_file or "", r.payload_offset or 0).payload,
                  r.final_url or r.url) for r in records]
        extract_html(*pages[0])  # imports and warms trafilatura outside the clock
        started, cpu = time.perf_counter(), time.process_time()
        statuses.update(extract_html(body, url)["status"] for body, url in pages)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    else:
        pool = ExtractionPool(config.warc_dir, workers=workers, timeout=config.extract_timeout,
                              max_bytes=config.max_body_bytes)

        def run(batch: list[Any]) -> float:
            left, started = [len(batch)], time.perf_counter()

            def done(result: dict[str, Any]) -> None:
                with lock:
                    statuses[result.get("status", "?")] += 1
                    left[0] -= 1
                    if not left[0]:
                        finished.set()

            finished.clear()
            for record in batch:
                pool.submit(record.payload_file, record.payload_offset, record.final_url or record.url,
                            done)
            finished.wait()
            return time.perf_counter() - started

        run(records[:2 * workers])  # start and warm the workers outside the clock
        statuses.clear()
        seconds = run(records)
        pool.close()
    return {"seconds": seconds, "pages_per_s": len(records) / seconds, "pages": len(records),
            "cpu_ms_per_page": 1000 * cpu / len(records), "statuses": dict(statuses)}


def capture_child(config: Config, urls: list[str]) -> dict[str, Any]:
    """The capture command's path (stream_captures; the memory run measures this process's whole
    tree): results are counted as they come, not kept."""
    import collector
    from collector.capture.run import stream_captures

    extraction = Counter[str]()
    started = time.perf_counter()
    outcomes = stream_captures(config, urls, on_result=lambda r: extraction.update(
        [str(r.get("extraction"))]))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "results": sum(outcomes.values()),
            "pages_per_s": sum(outcomes.values()) / seconds,
            "outcomes": dict(outcomes), "extraction": dict(extraction),
            "tree": str(Path(collector.__file__).parent.parent)}  # the source tree measured


def pending_child(config: Config) -> dict[str, Any]:
    """``collector extract --pending``'s path on a home captured with ``--no-extract``."""
    from collector.capture.extract_pending import extract_pending

    started = time.perf_counter()
    summary = extract_pending(config)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages_per_s": summary["extracted"] / seconds,
            "statuses": summary["statuses"]}


def no_extract_phases(run: Callable[..., dict[str, Any]], config: Callable[..., Config],
                      urls: list[str], bare: dict[str, Any], summary: dict[str, Any]) -> None:
    """``capture --no-extract`` (the command's path: crawl child, writer, rows with extraction
    pending; no extraction pool) against bare Scrapy of the same run; then ``extract --pending``."""
    # the pages alone, as bare Scrapy (no requisites, and no yt-dlp after the crawl for the ~2% of
    # corpus pages that embed a <video>), unless --requisites
    noext_config = config("no_extract", extract=False, extract_workers=2, requisites=REQUISITES[0],
                          media="auto" if REQUISITES[0] else "never")
    noext = run("no_extract", capture_child, noext_config, urls)
    noext["pages_per_s"] *= fetches_per_page(noext_config)
    ratio = summary["no_extract_vs_bare"] = noext["pages_per_s"] / bare["pages_per_s"]
    print(f"capture --no-extract: {noext['pages_per_s']:.1f} pages/s ({noext['seconds']:.1f} s, "
          f"{noext['cpu_ms_per_page']:.1f} ms CPU/page) {noext['outcomes']} extraction "
          f"{noext['extraction']} = {ratio:.2f}x bare (target >= 0.8)")
    later = run("extract_pending", pending_child, noext_config)
    later["cpu_ms_per_page"] = later["tree_cpu_s"] * 1e3 / len(urls)
    print(f"extract --pending (2 workers): {later['pages_per_s']:.1f} pages/s "
          f"({later['seconds']:.1f} s, {later['cpu_ms_per_page']:.1f} ms CPU/page) {later['statuses']}")


def trafilatura_all_cores(n: int) -> dict[str, Any]:
    """Default ``trafilatura.extract()`` on all cores (a process pool of ``os.cpu_count()``) over the
    pages the site serves for ``n`` URLs (``/page/i``: corpus page ``i mod 990``), read beforehand:
    the extraction half of the end-to-end limit. The pool is started and warmed outside the clock."""
    from concurrent.futures import ProcessPoolExecutor

    import trafilatura

    files = corpus_files()
    pages = [gzip.decompress(Path(f).read_bytes()) for f in files]
    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        list(pool.map(trafilatura.extract, pages[:2 * workers]))  # start and warm the workers
        started, cpu = time.perf_counter(), time.process_time()
        found = sum(text is not None for text in pool.map(
            trafilatura.extract, (pages[i % len(pages)] for i in range(n)), chunksize=8))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # the workers' CPU, once they have ended (the warm-up's few pages included), and this process's
    workers_cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    return {"seconds": seconds, "pages_per_s": n / seconds, "workers": workers, "texts": found,
            "cpu_ms_per_page": (cpu + workers_cpu) * 1e3 / n}


def rounds_phases(args: argparse.Namespace, run: Callable[..., dict[str, Any]],
                  config: Callable[..., Config], urls: list[str], summary: dict[str, Any]) -> None:
    """Issue 18's two ratios over ``--rounds`` interleaved rounds (the order rotates each round, so
    no side always runs first or last), each round's ratios from that round's own figures, medians:

    - archive path: ``capture --no-extract`` (pages alone, as bare Scrapy) vs bare Scrapy [>= 0.8x],
      by wall (pages/s) and by CPU (bare's CPU seconds per page over collector's: the process trees);
    - end to end: ``capture`` with extraction (the Config default workers) vs
      ``max(bare crawl, default trafilatura.extract() on all cores)``: the slower of the two bounds the
      pages/s any pipeline of both reaches, so the limit is min of their pages/s [>= 0.85x]."""
    n, out = len(urls), summary.setdefault("rounds", [])
    trees = {"": None, **({"_baseline": args.baseline} if args.baseline else {})}
    sides: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
        ("bare", lambda r: run(f"bare_{r}", bare_crawl, config(f"bare{r}"), urls)),
        ("trafilatura", lambda r: run(f"trafilatura_{r}", trafilatura_all_cores, n))]
    for suffix, tree in trees.items():  # collector's two paths, with --baseline also the baseline's
        sides.insert(1, (f"no_extract{suffix}", functools.partial(lambda r, s, t: with_tree(t, lambda: run(
            f"no_extract{s}_{r}", capture_child, config(f"noext{s}{r}", extract=False,
                                                        requisites=False, media="never"), urls)),
            s=suffix, t=tree)))
        sides.insert(-1, (f"end_to_end{suffix}", functools.partial(lambda r, s, t: with_tree(
            t, lambda: run(f"end_to_end{s}_{r}", capture_child, config(
                f"e2e{s}{r}", requisites=False, media="never"), urls)), s=suffix, t=tree)))
    for r in range(args.rounds):
        got: dict[str, dict[str, Any]] = {}
        for name, measure in sides[r % len(sides):] + sides[:r % len(sides)]:
            got[name] = measure(r)
            got[name]["load_avg"] = os.getloadavg()
        row = round_row(got, trees)
        out.append(row)
        print(f"round {r + 1}: " + "; ".join(
            f"{k} {v['pages_per_s']:.1f} pages/s {v['cpu_ms_per_page']:.1f} ms CPU/page"
            for k, v in got.items()) + "; " + ", ".join(
            f"{k} {v:.2f}x" for k, v in row.items() if k.startswith(("archive", "e2e")))
            + f"; load {row['load_avg_1min']}")
    medians = summary["rounds_median"] = {k: statistics.median(row[k] for row in out)
                                          for k in out[0] if k.startswith(("archive", "e2e"))}
    for suffix in trees:
        label = f" ({args.baseline})" if suffix else ""
        print(f"median of {len(out)} rounds{label}: archive path (capture --no-extract) vs bare "
              f"Scrapy {medians['archive_wall' + suffix]:.2f}x by wall, "
              f"{medians['archive_cpu' + suffix]:.2f}x by CPU per page (target >= 0.8); end to end "
              f"vs max(bare crawl, trafilatura.extract() on all cores) "
              f"{medians['e2e_wall' + suffix]:.2f}x by wall, {medians['e2e_cpu' + suffix]:.2f}x by "
              f"CPU per page (bare's + trafilatura's over end to end's; target >= 0.85)")


def round_row(got: dict[str, dict[str, Any]], trees: dict[str, str | None]) -> dict[str, Any]:
    """One round's ratios (for each tree: ``archive_wall``, ``archive_cpu``, ``e2e_wall``,
    ``e2e_cpu``, the baseline's with ``_baseline`` after) and its figures."""
    bare, traf = got["bare"], got["trafilatura"]
    limit = min(bare["pages_per_s"], traf["pages_per_s"])
    row: dict[str, Any] = {}
    for suffix in trees:
        noext, e2e = got["no_extract" + suffix], got["end_to_end" + suffix]
        row.update({
            "archive_wall" + suffix: noext["pages_per_s"] / bare["pages_per_s"],
            "archive_cpu" + suffix: bare["cpu_ms_per_page"] / noext["cpu_ms_per_page"],
            "e2e_wall" + suffix: e2e["pages_per_s"] / limit,
            "e2e_cpu" + suffix: (bare["cpu_ms_per_page"] + traf["cpu_ms_per_page"])
            / e2e["cpu_ms_per_page"]})
    return {**row, **{f"{k}_pages_per_s": round(v["pages_per_s"], 1) for k, v in got.items()},
            **{f"{k}_cpu_ms_per_page": round(v["cpu_ms_per_page"], 1) for k, v in got.items()},
            "load_avg_1min": [round(v["load_avg"][0], 1) for v in got.values()]}


def with_tree(tree: str | None, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``measure()`` with ``tree`` (a source tree: --baseline; None: this bench's own tree) first on
    ``sys.path``, which the processes it spawns take over: they import collector from it.

    It is also the working directory meanwhile: a fork server (the extraction pool's, the crawl's)
    is started as ``python -c``, whose first path entry is the working directory, and Python 3.11's
    ``forkserver.main`` ignores the ``sys_path`` it is given. Run from another worktree's root, the
    baseline's extraction workers imported that worktree's collector, not the baseline's."""
    saved, cwd = list(sys.path), os.getcwd()
    root = tree or str(Path(__file__).resolve().parents[1])
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        return measure()
    finally:
        sys.path[:] = saved
        os.chdir(cwd)


# -- machine state ---------------------------------------------------------------------------------
def tree_stats(root: int) -> dict[int, tuple[int, float]]:
    """{pid: (RSS bytes, CPU seconds)} of ``root`` and all its descendants (psutil if installed,
    else /proc/<pid>/stat)."""
    try:
        import psutil

        top = psutil.Process(root)
        procs = [top, *top.children(recursive=True)]
        return {p.pid: (p.memory_info().rss, sum(p.cpu_times()[:2])) for p in procs}
    except ImportError:
        pass
    except Exception:  # psutil.Error: a process ended meanwhile
        return {}
    stats: dict[int, list[str]] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:  # fields after the command: state ppid ... utime(11) stime(12) ... rss(21, pages)
            stats[int(name)] = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended between listing and reading
            continue
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo.extend(p for p, f in stats.items() if int(f[1]) == pid)
        if pid in stats:
            f = stats[pid]
            found[pid] = (int(f[21]) * page, (int(f[11]) + int(f[12])) / tick)
    return found


def pss_bytes(pids: Iterable[int]) -> int:
    """Summed proportional set size of ``pids``: each shared page is split between the processes
    that share it, so the sum is what the tree really occupies."""
    return sum(pss_of(pid) for pid in pids)


def pss_of(pid: int) -> int:
    """The proportional set size of one process (/proc/<pid>/smaps_rollup); 0 once it has ended."""
    return pss_parts(pid).get("Pss", 0)


def pss_parts(pid: int) -> dict[str, int]:
    """Pss and its parts (Pss_Anon, Pss_File: mapped files, such as SQLite's memory-mapped
    database) of one process, in bytes; empty once it has ended."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:  # ended meanwhile, or no such file on this kernel
        return {}
    return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in text.splitlines()
            if line.startswith(("Pss:", "Pss_Anon:", "Pss_File:"))}


def role(pid: int, root: int) -> str:
    """A short label of a process of the measured tree: its depth below ``root`` and what it runs
    (a fork server, a resource tracker, or a forked child of its parent)."""
    depth, parent = 0, pid
    try:
        while parent not in (root, 0, 1):
            parent = int(Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[1])
            depth += 1
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return "ended"
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        forked = Path(f"/proc/{ppid}/cmdline").read_bytes() == Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        forked = False
    kind = ("forked from its parent" if forked else "fork server" if "forkserver" in command else
            "resource tracker" if "resource_tracker" in command else "process")
    return f"depth {depth} {kind}"


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all CPUs, /proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit: float) -> float:
    """Wait until the machine is < 10% busy (at most ``limit`` s); return the busy share seen."""
    deadline = time.monotonic() + limit
    while True:
        before = busy_seconds()
        time.sleep(1.0)
        busy = (busy_seconds() - before) / (os.cpu_count() or 1)
        if busy < 0.1 or time.monotonic() > deadline:
            return round(busy, 3)


# -- lookup ----------------------------------------------------------------------------------------
def lookup_bench(db_path: Path, rows: int, keys: int, lookups: int = 2000) -> dict[str, Any]:
    """closest_capture over ``rows`` bulk-inserted captures (real schema) spread over ``keys`` URLs."""
    from sqlalchemy import insert

    from storage.canonical import url_key
    from storage.database import connect
    from storage.errors import NoCaptureError
    from storage.models import Capture, Extraction
    from storage.queries import closest_capture

    sessions = connect(f"sqlite:///{db_path}")
    urls = [f"http://site{k % 1000:03d}.test/article/{k}" for k in range(keys)]
    ukeys = [url_key(u) for u in urls]
    start, span, rng = datetime(2025, 1, 1, tzinfo=UTC), 365 * 86400.0, random.Random(7)
    same = {"content_type": "text/html; charset=utf-8", "content_length": 85_000,
            "warc_length": 25_000, "payload_length": 25_000, "ignore_robots": False,
            "allow_private": False}
    began = time.perf_counter()
    with sessions.kw["bind"].begin() as conn:
        for base in range(0, rows, 50_000):
            caps, exts = [], []
            for i in range(base, min(rows, base + 50_000)):
                k, at, ok = i % keys, start + timedelta(seconds=span * i / rows), rng.random() > 0.05
                file, off = f"collector-{i // 200_000:05d}.warc.gz", (i % 200_000) * 30_000
                caps.append({**same, "id": i + 1, "url": urls[k], "url_key": ukeys[k],
                             "captured_at": at, "outcome": "captured" if ok else "failed",
                             "reason": None if ok else "timeout", "http_status": 200 if ok else None,
                             "final_url": urls[k], "final_url_key": ukeys[k],
                             "redirect_chain": [{"url": urls[k], "status": 200}],
                             "sha256": rng.randbytes(32).hex(), "warc_file": file, "warc_offset": off,
                             "warc_record_id": f"<urn:uuid:{i}>", "payload_file": file,
                             "payload_offset": off, "run_id": f"run{i // 2000}",
                             "records": [{"type": "response", "file": file, "offset": off}]})
                if ok:
                    exts.append({"capture_id": i + 1, "status": "ok", "text_sha256": "0" * 64,
                                 "text_length": 4000, "title": f"Article {k}", "extracted_at": at,
                                 "warc_file": file, "warc_offset": off + 25_000, "warc_length": 2000})
            conn.execute(insert(Capture), caps)
            conn.execute(insert(Extraction), exts)
    insert_seconds, misses = time.perf_counter() - began, 0
    timings: dict[str, list[float]] = {"at": [], "latest": []}
    for n in range(lookups + 200):  # the first 200 warm the page cache and the connection pool
        url, at = urls[rng.randrange(keys)], start + timedelta(seconds=rng.random() * span)
        for kind, when in (("at", at), ("latest", None)):
            t0 = time.perf_counter()
            try:
                closest_capture(sessions, url, when)
            except NoCaptureError:
                misses += 1
            if n >= 200:
                timings[kind].append((time.perf_counter() - t0) * 1000)
    sessions.kw["bind"].dispose()
    return {"rows": rows, "url_keys": keys, "insert_seconds": insert_seconds, "misses": misses,
            "db_mb": db_path.stat().st_size / 2**20, "lookups": lookups, **{
                kind: {"median_ms": statistics.median(ms),
                       "p99_ms": sorted(ms)[int(len(ms) * 0.99) - 1]}
                for kind, ms in timings.items()}}


# -- driver ----------------------------------------------------------------------------------------
def sizes(config: Config) -> tuple[int, int]:
    """(WARC bytes, database bytes) of an archive home."""
    return (sum(p.stat().st_size for p in config.warc_dir.glob("*.warc.gz")),
            sum(p.stat().st_size for p in config.home.glob("collector.db*")))


REQUISITES = [False]  # --requisites: the archive path fetches each page's requisites too
UNTHROTTLED_BARE = [False]  # --unthrottled-bare: bare Scrapy without AutoThrottle (as before)


def fetches_per_page(config: Config) -> float:
    """Rows (fetches) per page row in ``config``'s archive: 1 without requisites; with them, each
    requisite fetched counts as a fetch in the rate (bare Scrapy fetches pages alone)."""
    from sqlalchemy import text

    from storage.database import connect

    sessions = connect(config.db_url)
    try:
        with sessions() as session:
            rows, pages = session.execute(text(
                "SELECT count(*), count(*) - count(page_id) FROM captures")).one()
    finally:
        sessions.kw["bind"].dispose()
    return rows / max(1, pages)


def make_urls(n: int) -> list[str]:
    """``n`` URLs over ``n / 10`` host names, host-interleaved."""
    return [f"http://site{i % max(1, n // URLS_PER_HOST):03d}.test/page/{i}" for i in range(n)]


def phases(args: argparse.Namespace, port: int, config: Callable[..., Config],
           summary: dict[str, Any]) -> None:
    """Run every measurement, printing each figure as it comes and filling ``summary``."""
    urls, quiet = make_urls(args.urls), summary.setdefault("busy_before", {})
    n = len(urls)

    def run(name: str, *fn_args: Any) -> dict[str, Any]:
        quiet[name] = wait_quiet(args.quiet_wait)
        result = summary[name] = in_child(*fn_args)
        pages = next((len(a) for a in fn_args if isinstance(a, list)), n)  # the URL list
        if "seconds" in result and not result.get("cpu_ms_per_page"):
            result["cpu_ms_per_page"] = result["tree_cpu_s"] * 1e3 / pages
        return result

    def rate(r: dict[str, Any]) -> str:
        return (f"{r['pages_per_s']:.1f} pages/s ({r['seconds']:.1f} s, "
                f"{r['cpu_ms_per_page']:.1f} ms CPU/page)")

    if args.only_memory:
        return memory_phase(args, run, config)
    if args.rounds:
        return rounds_phases(args, run, config, urls, summary)
    if args.only_no_extract:
        bare = run("bare", bare_crawl, config("bare"), urls)
        print(f"bare scrapy: {rate(bare)} {bare['statuses']}")
        return no_extract_phases(run, config, urls, bare, summary)
    quiet["site"] = wait_quiet(args.quiet_wait)
    site = summary["site_pages_per_s"] = asyncio.run(site_rate(port, n))
    print(f"site alone (asyncio client, 32 connections): {site:.0f} pages/s")
    bare = run("bare", bare_crawl, config("bare"), urls)
    arch = run("archive", archive_crawl, config("archive", requisites=REQUISITES[0]), urls)
    arch["pages_per_s"] *= fetches_per_page(config("archive"))
    ratio = summary["archive_vs_bare"] = arch["pages_per_s"] / bare["pages_per_s"]
    print(f"bare scrapy: {rate(bare)} {bare['statuses']}")
    print(f"archive path: {rate(arch)} {arch['outcomes']} = {ratio:.2f}x bare (target >= 0.5)")
    no_extract_phases(run, config, urls, bare, summary)
    one = run("extract_1proc", extract, config("archive"), 0)
    two = run("extract_2proc", extract, config("archive"), 2)
    speedup = summary["extract_speedup"] = two["pages_per_s"] / one["pages_per_s"]
    print(f"extraction 1 process: {rate(one)} {one['statuses']}; pool(2): {rate(two)} "
          f"{two['statuses']} = {speedup:.2f}x (target >= 1.6)")
    e2e_config = config("e2e", extract_workers=2)
    e2e = run("end_to_end", capture_child, e2e_config, urls)
    ratio = summary["e2e_vs_extraction"] = e2e["seconds"] / two["seconds"]
    print(f"end to end: {e2e['seconds']:.1f} s ({e2e['cpu_ms_per_page']:.1f} ms CPU/page) "
          f"{e2e['outcomes']} extraction {e2e['extraction']} = {ratio:.2f}x extraction alone on 2 "
          "processes (target <= 1.25)")
    warc0, db0 = sizes(e2e_config)
    again = run("recapture", capture_child, e2e_config, urls)
    warc1, db1 = sizes(e2e_config)
    again.update(warc_bytes_per_page=(warc1 - warc0) / n, db_bytes_per_page=(db1 - db0) / n,
                 bytes_per_page=(warc1 - warc0 + db1 - db0) / n)
    print(f"re-capture: {again['seconds']:.1f} s {again['outcomes']}; WARC +"
          f"{again['warc_bytes_per_page']:.0f} B/page, DB +{again['db_bytes_per_page']:.0f} B/page"
          f" = {again['bytes_per_page']:.0f} B/page (target < 2048)")
    if args.lookup_rows:
        look = run("lookup", lookup_bench, config("lookup").home / "lookup.db", args.lookup_rows,
                   max(1, args.lookup_rows // 10))
        print(f"lookup over {look['rows']:,} rows, {look['url_keys']:,} keys (insert "
              f"{look['insert_seconds']:.0f} s, {look['db_mb']:.0f} MB): --at median "
              f"{look['at']['median_ms']:.3f} ms, p99 {look['at']['p99_ms']:.3f} ms; latest median "
              f"{look['latest']['median_ms']:.3f} ms, p99 {look['latest']['p99_ms']:.3f} ms (target < 2)")
    if args.memory or args.full:
        memory_phase(args, run, config)


def memory_phase(args: argparse.Namespace, run: Callable[..., dict[str, Any]],
                 config: Callable[..., Config]) -> None:
    """Capture ``--memory-urls`` URLs with extraction on; print the peak PSS of the process tree."""
    mem = run("memory", capture_child, config("memory", extract_workers=2),
              make_urls(args.memory_urls))
    print(f"memory: {args.memory_urls} URLs in {mem['seconds']:.0f} s {mem['outcomes']}, peak PSS "
          f"of the process tree {mem['peak_pss_mb']:.0f} MB (summed RSS, shared pages counted "
          f"once per process: {mem['peak_rss_mb']:.0f} MB) (target < 400); PSS per process at "
          f"the peak: {mem['pss_mb_at_peak']}, of which mapped files {mem['pss_file_mb_at_peak']} MB")


def corpus_files() -> list[str]:
    """The corpus pages' files, in the order the site serves them (``/page/i``: file ``i mod n``)."""
    manifest = CORPUS / "manifest.jsonl"
    return sorted(str(CORPUS / json.loads(line)["stored_as"])
                  for line in manifest.read_text().splitlines() if line.strip())


def start_site() -> tuple[Any, int]:
    """Start the proxy site over the corpus in its own process and point ``http_proxy`` at it (every
    spawned child inherits it); return the process and its port."""
    files = corpus_files()
    receive, send = mp.get_context("spawn").Pipe(duplex=False)
    server = mp.get_context("spawn").Process(target=serve, args=(files, send), daemon=True)
    server.start()
    port = receive.recv()
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
        os.environ.pop(name, None)
    os.environ["http_proxy"] = f"http://127.0.0.1:{port}"
    return server, int(port)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=2000, help="URLs per crawl (default 2000)")
    parser.add_argument("--full", action="store_true", help="everything, the memory run included")
    parser.add_argument("--memory", action="store_true", help="run the memory measurement")
    parser.add_argument("--memory-urls", type=int, default=20_000)
    parser.add_argument("--only-memory", action="store_true", help="the memory run alone")
    parser.add_argument("--only-no-extract", action="store_true",
                        help="bare Scrapy, capture --no-extract and extract --pending alone")
    parser.add_argument("--rounds", type=int, default=0,
                        help="issue 18's ratios alone: this many interleaved rounds of bare Scrapy, "
                             "capture --no-extract, capture and trafilatura on all cores; medians")
    parser.add_argument("--baseline", default=None,
                        help="with --rounds: a source tree (a worktree of main) whose collector is "
                             "measured in the same rounds, for a before/after")
    parser.add_argument("--browser", choices=("auto", "always", "never"), default=None,
                        help="every crawl's browser setting (default: Config's, auto: a page that "
                             "looks like a JavaScript shell is captured again with Chromium, which "
                             "bare Scrapy never does; never: like for like)")
    parser.add_argument("--requisites", action="store_true",
                        help="the archive path fetches page requisites too (counted as fetches)")
    parser.add_argument("--unthrottled-bare", action="store_true",
                        help="bare Scrapy without AutoThrottle (collector's crawl keeps its own)")
    parser.add_argument("--lookup-rows", type=int, default=1_000_000, help="0 skips the lookup")
    parser.add_argument("--start-delay", type=float, default=0.1)
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="longest wait for an idle machine before each phase (seconds)")
    args = parser.parse_args()
    REQUISITES[0] = args.requisites
    UNTHROTTLED_BARE[0] = args.unthrottled_bare
    manifest = CORPUS / "manifest.jsonl"
    if not manifest.is_file() or not (CORPUS / "html").is_dir():
        print(f"corpus not found at {CORPUS} (manifest.jsonl and html/): nothing to benchmark")
        return 0
    from collector.config import load_config

    server, port = start_site()
    summary: dict[str, Any] = {"urls": args.urls, "hosts": max(1, args.urls // URLS_PER_HOST),
                               "cpus": os.cpu_count(), "start_delay": args.start_delay,
                               "corpus_pages": sum(1 for line in manifest.read_text().splitlines()
                                                   if line.strip()),
                               "started": datetime.now(UTC).isoformat()}
    try:
        with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
            phases(args, port, lambda name, **extra: load_config(
                {"home": Path(tmp) / name, "allow_private": True,
                 "autothrottle_start_delay": args.start_delay,
                 **({"browser": args.browser} if args.browser else {}), **extra}, env={}), summary)
    finally:
        server.terminate()
        server.join()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(summary, indent=2, default=str))
        print(f"machine busy share before each phase: {summary.get('busy_before')}")
        print("CPU seconds used by other processes (the site included) during each phase: "
              + str({k: round(v["other_cpu_s"], 1) for k, v in summary.items()
                     if isinstance(v, dict) and "other_cpu_s" in v}))
        print(f"summary written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
