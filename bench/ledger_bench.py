"""Ledger benchmark (issue 15). Run from the repository root:

    .venv/bin/python bench/ledger_bench.py [--urls 300] [--pairs 3] [--entries 100000]

1. Capture throughput with the ledger on vs off (``ledger = false``): the archive path of
   bench/capture_bench.py (fetch, WARC, digests, rows committed; extraction off) over ``--urls`` local
   pages served by its proxy site, runs alternated off/on ``--pairs`` times, each in a fresh spawned
   process and home; the ratio of the median pages/s [target >= 0.95].
2. ``ledger verify`` without WARCs over ``--entries`` synthetic capture rows and their entries
   (SQLite): the time to append them, to checkpoint (the first, then one entry later), to verify
   everything (hashes, chain, every entry against its row, tree; parallel from 200,000 entries, and
   in one process), with the CPU seconds it took, and to verify hashes, chain and tree alone
   (``--from-checkpoint`` of the last checkpoint); extrapolated linearly to 1,000,000
   [target: < 30 s; run with ``--entries 1000000`` to measure it].
3. The ledger's own cost where it acts: ``Archive.commit_captures`` of ``--urls`` pages with the ledger
   off and on, alternated ``--pairs`` times in one process, in CPU seconds (what a crawl's pages/s
   loses to it, whatever else the machine is doing).
No asserts: figures are printed and written to bench/out/ledger_bench.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capture_bench  # bench/ is no package: found through sys.path above

OUT = Path(__file__).resolve().parent / "out" / "ledger_bench.json"


def synthetic_verify(home: Path, entries: int) -> dict[str, Any]:
    """Insert ``entries`` capture rows with their ledger entries, checkpoint, verify (no WARCs)."""
    from sqlalchemy import insert

    from storage import ledger
    from storage.archive import Archive
    from storage.ledgerverify import verify_ledger
    from storage.models import Capture

    archive = Archive.open(f"sqlite:///{home / 'collector.db'}", home / "warcs")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    append_s = 0.0
    try:
        for start in range(0, entries, 5000):
            rows = [{"id": i + 1, "url": f"https://site{i % 500}.example/page/{i}",
                     "url_key": f"example,site{i % 500})/page/{i}", "captured_at": t0 + timedelta(seconds=i),
                     "outcome": "captured", "http_status": 200, "final_url": None,
                     "content_type": "text/html", "content_length": 10_000 + i % 977,
                     "sha256": f"{i:064x}", "warc_file": "x.warc.gz", "warc_offset": i * 4000,
                     "warc_length": 3900, "warc_record_id": f"<urn:uuid:{i:032x}>",
                     "payload_file": "x.warc.gz", "payload_offset": i * 4000, "payload_length": 3900,
                     "records": [["response", i * 4000, 3900], ["request", i * 4000 + 3900, 100]],
                     "redirect_chain": []}
                    for i in range(start, min(entries, start + 5000))]
            with archive.sessions() as session, session.begin():
                session.execute(insert(Capture), rows)
                began = time.perf_counter()
                ledger.append_entries(session, ledger.CAPTURE,
                                      [(r["id"], ledger.capture_fields(r)) for r in rows])
                append_s += time.perf_counter() - began
        began = time.perf_counter()
        point = archive.checkpoint()
        checkpoint_s = time.perf_counter() - began
        assert point is not None
        with archive.sessions() as session, session.begin():  # one more capture, as a run ends
            row = {**rows[-1], "id": entries + 1, "url": "https://late.example/"}
            session.execute(insert(Capture), [row])
            ledger.append_entries(session, ledger.CAPTURE, [(entries + 1, ledger.capture_fields(row))])
        began = time.perf_counter()
        archive.checkpoint()
        next_checkpoint_s = time.perf_counter() - began
        began = time.perf_counter()
        trusted = verify_ledger(archive.sessions, None, from_checkpoint=point.id)
        hashes_s = time.perf_counter() - began
        began, cpu = time.perf_counter(), _cpu()
        report = verify_ledger(archive.sessions, None)  # default: parallel from 200,000 entries
        verify_s, verify_cpu_s = time.perf_counter() - began, _cpu() - cpu
        began, cpu = time.perf_counter(), _cpu()
        alone = verify_ledger(archive.sessions, None, workers=1)
        verify_one_s, verify_one_cpu_s = time.perf_counter() - began, _cpu() - cpu
        leaves = list(ledger.iter_leaf_hashes(archive.sessions))
        began = time.perf_counter()
        ledger.merkle_roots(leaves, [len(leaves)])
        tree_s = time.perf_counter() - began
    finally:
        archive.close()
    return {"entries": entries, "ok": report.ok and trusted.ok and alone.ok,
            "problems": len(report.problems),
            "verify_one_process_s": verify_one_s, "verify_one_process_cpu_s": verify_one_cpu_s,
            "verify_cpu_s": verify_cpu_s, "load_average": os.getloadavg()[0],
            "hashes_chain_tree_s": hashes_s,
            "hashes_chain_tree_1m_s_extrapolated": hashes_s * 1_000_000 / entries,
            "append_us_per_entry": append_s * 1e6 / entries, "checkpoint_s": checkpoint_s,
            "next_checkpoint_s": next_checkpoint_s,
            "verify_s": verify_s, "tree_s": tree_s,
            "verify_1m_s_extrapolated": verify_s * 1_000_000 / entries}


def commit_path(home: Path, pages: int, pairs: int) -> dict[str, Any]:
    """The only place captures meet the ledger, alone: ``Archive.commit_captures`` of ``pages``
    pages (~20 KB of HTML each, in batches of 64 as the writer commits them), ledger off and on
    alternated ``pairs`` times in this one process, each in a fresh archive; CPU seconds of each."""
    from storage.archive import Archive
    from tests.storage.helpers import HTML, T0, html_capture

    body = HTML * 60
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for pair in range(pairs):
        for mode in ("off", "on"):
            where = home / f"commit-{mode}{pair}"
            archive = Archive.open(f"sqlite:///{where / 'collector.db'}", where / "warcs",
                                   ledger=mode == "on")
            inputs = [html_capture(f"http://site{i % 200}.test/page/{i}", T0 + timedelta(seconds=i),
                                   body=body + str(i).encode()) for i in range(pages)]
            try:
                began = time.process_time()
                for start in range(0, pages, 64):
                    archive.commit_captures(inputs[start:start + 64])
                cpu[mode].append(time.process_time() - began)
            finally:
                archive.close()
    on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
    return {"pages": pages, "cpu_s": cpu, "median_on": on, "median_off": off,
            "ledger_us_per_page": (on - off) * 1e6 / pages, "load_average": os.getloadavg()[0]}


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (verify's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--start-delay", type=float, default=0.1)
    parser.add_argument("--quiet-wait", type=float, default=10.0)
    args = parser.parse_args()
    from collector.config import load_config

    summary: dict[str, Any] = {"urls": args.urls, "pairs": args.pairs, "cpus": os.cpu_count(),
                               "started": datetime.now(UTC).isoformat()}
    manifest = capture_bench.CORPUS / "manifest.jsonl"
    try:
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
            if manifest.is_file():
                files = sorted(str(capture_bench.CORPUS / json.loads(line)["stored_as"])
                               for line in manifest.read_text().splitlines() if line.strip())
                receive, send = mp.get_context("spawn").Pipe(duplex=False)
                server = mp.get_context("spawn").Process(target=capture_bench.serve,
                                                         args=(files, send), daemon=True)
                server.start()
                port = receive.recv()
                for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
                    os.environ.pop(name, None)
                os.environ["http_proxy"] = f"http://127.0.0.1:{port}"
                urls = capture_bench.make_urls(args.urls)
                rates: dict[str, list[float]] = {"off": [], "on": []}
                cpu: dict[str, list[float]] = {"off": [], "on": []}  # CPU s of the crawl's processes
                try:
                    for pair in range(args.pairs):
                        for mode in ("off", "on"):
                            config = load_config({
                                "home": Path(tmp) / f"{mode}{pair}", "allow_private": True,
                                "autothrottle_start_delay": args.start_delay,
                                "ledger": mode == "on"}, env={})
                            capture_bench.wait_quiet(args.quiet_wait)
                            result = capture_bench.in_child(capture_bench.archive_crawl, config, urls)
                            rates[mode].append(result["pages_per_s"])
                            cpu[mode].append(result["tree_cpu_s"])
                            print(f"ledger {mode}: {result['pages_per_s']:.1f} pages/s "
                                  f"({result['seconds']:.1f} s, {result['tree_cpu_s']:.1f} s CPU, "
                                  f"{result['other_cpu_s']:.1f} s CPU of other processes, load "
                                  f"{os.getloadavg()[0]:.1f}) {result['outcomes']}", flush=True)
                finally:
                    server.terminate()
                    server.join()
                on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
                cpu_on, cpu_off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
                summary["capture"] = {"pages_per_s": rates, "median_on": on, "median_off": off,
                                      "ratio": on / off, "cpu_s": cpu, "cpu_ratio": cpu_off / cpu_on}
                print(f"capture with the ledger: {on:.1f} pages/s median, without: {off:.1f} = "
                      f"{on / off:.3f}x (target >= 0.95); pages per CPU second, with/without: "
                      f"{cpu_off / cpu_on:.3f}x (CPU {cpu_on:.1f} s / {cpu_off:.1f} s median)")
            else:
                print(f"corpus not found at {capture_bench.CORPUS}: capture phase skipped")
            commit = capture_bench.in_child(commit_path, Path(tmp), args.urls, args.pairs)
            summary["commit"] = {k: v for k, v in commit.items() if k != "pss_mb_at_peak"}
            print(f"commit_captures of {args.urls} pages, CPU median: ledger off "
                  f"{commit['median_off']:.2f} s, on {commit['median_on']:.2f} s = "
                  f"{commit['ledger_us_per_page']:.0f} µs per page for the ledger "
                  f"(runs {commit['cpu_s']}, load {commit['load_average']:.1f})", flush=True)
            home = Path(tmp) / "synthetic"
            home.mkdir()
            result = capture_bench.in_child(synthetic_verify, home, args.entries)
            summary["verify"] = {k: v for k, v in result.items() if not isinstance(v, dict)}
            print(f"{result['entries']:,} entries: append {result['append_us_per_entry']:.1f} µs/entry,"
                  f" checkpoint {result['checkpoint_s']:.2f} s (the next, 1 entry later: "
                  f"{result['next_checkpoint_s'] * 1e3:.1f} ms), ledger verify (no WARCs) "
                  f"{result['verify_s']:.2f} s ({result['verify_cpu_s']:.2f} s CPU; one process "
                  f"{result['verify_one_process_s']:.2f} s, {result['verify_one_process_cpu_s']:.2f}"
                  f" s CPU; load {result['load_average']:.1f}), hashes+chain+tree only "
                  f"{result['hashes_chain_tree_s']:.2f} s (tree alone {result['tree_s']:.2f} s, ok "
                  f"{result['ok']}) -> 1,000,000: ~{result['verify_1m_s_extrapolated']:.0f} s with "
                  f"rows, ~{result['hashes_chain_tree_1m_s_extrapolated']:.0f} s hashes and tree "
                  "(target < 30)")
    finally:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(summary, indent=2, default=str))
        print(f"summary written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
