"""Archive write benchmark (issue 18): the writer process's CPU per page, without the crawl.

    .venv/bin/python bench/archive_write_bench.py [--pages N] [--rounds R] [--baseline TREE] [--profile]

The captures ``capture --no-extract`` hands its writer process for the capture bench's pages (real
pages of the trafilatura-eval corpus, ``http://siteNNN.test/page/<i>`` through a proxy: one exchange
each, the proxy in its metadata record) are built in memory, then committed through
``Archive.commit_captures`` in groups of 64 (the writer's batch) into a fresh home (SQLite, ledger on,
gzip level 3), and each group's extractions marked pending, as ``ArchiveWriter`` does with
``--no-extract``. The figure is the CPU time (``time.process_time``) of the commits per page; the
inputs are built outside the clock. Each run is a process of its own; with ``--baseline TREE`` the
same runs import collector from TREE (e.g. a copy of main: ``git archive main | tar -x -C TREE``),
interleaved with this tree's, and the ratio of the medians is printed. ``--profile``: cProfile's
top functions of one run of this tree. No asserts; figures go to bench/out/archive_write_bench.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/corpora/trafilatura-eval")
OUT = Path(__file__).resolve().parent / "out" / "archive_write_bench.json"
BATCH = 64
AGENT = "collector/0.1.0 (+https://github.com/collector-archive/collector)"


def corpus_pages(limit: int | None = None) -> list[bytes]:
    """The corpus pages (the first ``limit``), decompressed, in the order the capture bench's site
    serves them."""
    lines = [line for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip()]
    files = sorted(str(CORPUS / json.loads(line)["stored_as"]) for line in lines)[:limit]
    return [gzip.decompress(Path(name).read_bytes()) for name in files]


def capture_inputs(n: int) -> list[Any]:
    """``n`` captures as the capture bench's crawl hands them over (``/page/i``: corpus page
    ``i mod pages``, ten URLs per host, through an http proxy)."""
    from storage.records import CaptureInput, Exchange

    pages = corpus_pages(n)
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        url = f"http://site{i // 10:03d}.test/page/{i}"
        body = pages[i % len(pages)]
        at = start + timedelta(milliseconds=37 * i)
        hop = Exchange(
            url=url, method="GET", requested_at=at, status=200, protocol="HTTP/1.1",
            request_headers=[("Host", url.split("/")[2]),
                             ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                             ("Accept-Language", "en"), ("User-Agent", AGENT),
                             ("Accept-Encoding", "gzip, deflate, br, zstd")],
            response_headers=[("Content-Length", str(len(body))),
                              ("Content-Type", "text/html; charset=utf-8")],
            body=body, ip_address="127.0.0.1", proxy="http://127.0.0.1:41000")
        out.append(CaptureInput(
            url=url, captured_at=at, outcome="captured", exchanges=[hop], final_url=url,
            redirect_chain=[{"url": url, "status": 200}], allow_private=True, user_agent=AGENT,
            run_id="7b0f9bde1d7146bf93ada52ceff30ddd", fetch_seconds=0.647559, mode="http"))
    return out


def measure(tree: str | None, pages: int, profile: bool, conn: Any) -> None:
    """Child process: commit the captures with collector from ``tree`` (None: this one)."""
    sys.path.insert(0, tree or str(ROOT))
    from storage.archive import Archive

    inputs = capture_inputs(pages)
    with tempfile.TemporaryDirectory(prefix="archive-write-bench-") as tmp:
        archive = Archive.open(f"sqlite:///{tmp}/collector.sqlite3", Path(tmp) / "warcs",
                               append=True, info={"http-header-user-agent": AGENT})
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
            profiler.enable()
        cpu = time.process_time()
        for first in range(0, len(inputs), BATCH):
            records = archive.commit_captures(inputs[first:first + BATCH])
            archive.mark_extractions_pending([r.id for r in records], inputs[first].captured_at)
        cpu = time.process_time() - cpu
        if profiler is not None:
            import io
            import pstats

            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(40)
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
            print(text.getvalue())
        warc_bytes = sum(p.stat().st_size for p in (Path(tmp) / "warcs").glob("*.warc.gz"))
        archive.close()
    conn.send({"cpu_s": cpu, "cpu_ms_per_page": cpu * 1e3 / pages, "warc_bytes": warc_bytes})


def run(tree: str | None, pages: int, profile: bool = False) -> dict[str, Any]:
    """One measurement in a spawned process."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=measure, args=(tree, pages, profile, child))
    proc.start()
    result: dict[str, Any] = parent.recv()
    proc.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="a source tree to compare against")
    parser.add_argument("--profile", action="store_true", help="cProfile one run of this tree")
    args = parser.parse_args()
    if args.profile:
        print(run(None, args.pages, profile=True))
        return 0
    trees: dict[str, str | None] = {"this": None, **({"baseline": args.baseline} if args.baseline else {})}
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees.items()) if r % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            got[name].append(run(tree, args.pages))
            print(f"round {r + 1} {name}: {got[name][-1]['cpu_ms_per_page']:.3f} ms CPU/page")
    summary: dict[str, Any] = {"pages": args.pages, "rounds": got, "median_cpu_ms_per_page": {
        name: statistics.median(x["cpu_ms_per_page"] for x in runs) for name, runs in got.items()}}
    medians = summary["median_cpu_ms_per_page"]
    if args.baseline:
        summary["ratio"] = medians["this"] / medians["baseline"]
        print(f"median CPU per page: this tree {medians['this']:.3f} ms, baseline {args.baseline} "
              f"{medians['baseline']:.3f} ms: {summary['ratio']:.2f}x")
    else:
        print(f"median CPU per page: {medians['this']:.3f} ms")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
