"""Storage benchmark (issue 18): bytes per page of a first capture and of an unchanged recapture,
collector against ``wget --warc-file``, same run. Run from the repository root:

    .venv/bin/python bench/storage_bench.py [--urls N] [--start-delay S]

The site is capture_bench's proxy site (real pages of the trafilatura-eval corpus, decompressed from
/work/shared/corpora, ``http://siteNNN.test/page/<i>`` through ``http_proxy``), started by the bench.
Phases, each in its own process where collector runs:
1. collector captures the N URLs (extraction on, the capture command's path: stream_captures);
2. wget captures the same URLs with ``--warc-file --warc-cdx`` (one process, through the proxy);
3. collector captures them again (unchanged: revisit records);
4. wget again with ``--warc-dedup`` against the first run's CDX.
For collector the figures are WARC bytes per page and database bytes per page, the database measured
as a VACUUMed copy (free pages and the WAL do not count), with the bytes of each table and index
from SQLite's ``dbstat`` table. wget's figure is its WARC (it keeps no database). Ratios are
collector's all-in bytes over wget's. No asserts: figures are printed and written to
bench/out/storage_bench.json. Page requisites are off unless ``--requisites`` (wget fetches each page
alone; with requisites on, the figures hold every image and stylesheet row too). When wget is
missing the baseline is a warcio ``capture_http`` WARC at gzip level 6 of the same pages (named in
the output).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_bench import CORPUS, make_urls, start_site

if TYPE_CHECKING:
    from collector.config import Config

OUT = Path(__file__).resolve().parent / "out" / "storage_bench.json"


def capture_child(config: Config, urls: list[str], conn: Any) -> None:
    """Capture ``urls`` with collector's capture path; send the outcome counts."""
    from collector.capture.run import stream_captures

    try:
        outcomes = stream_captures(config, urls, on_result=lambda r: None)
        conn.send({"outcomes": dict(outcomes)})
    except BaseException as exc:  # the parent prints it
        conn.send({"error": repr(exc)})


def run_capture(config: Config, urls: list[str]) -> dict[str, Any]:
    """``capture_child`` in a spawned process (Scrapy's reactor runs once per process)."""
    receive, send = mp.get_context("spawn").Pipe(duplex=False)
    proc = mp.get_context("spawn").Process(target=capture_child, args=(config, urls, send))
    proc.start()
    send.close()
    result: dict[str, Any] = receive.recv()
    proc.join()
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def db_stats(db: Path) -> dict[str, Any]:
    """Bytes of a VACUUMed copy of the SQLite database ``db``, in all and per table or index."""
    with tempfile.TemporaryDirectory(prefix="storage-bench-db-") as tmp:
        copy = Path(tmp) / "copy.db"
        src = sqlite3.connect(db)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("VACUUM")
        per = dict(dst.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        size = dst.execute("PRAGMA page_count").fetchone()[0] * dst.execute(
            "PRAGMA page_size").fetchone()[0]
        dst.close()
    return {"bytes": size, "per": per}


def warc_bytes(folder: Path, pattern: str = "*.warc.gz") -> int:
    """Total size of the WARC files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob(pattern))


def record_bytes(folder: Path) -> dict[str, int]:
    """Compressed bytes of the WARC records under ``folder`` by kind: the WARC-Type, and for a
    ``metadata`` record the ``urn:`` scheme part of its target (collector's capture and text records)."""
    from warcio.archiveiterator import ArchiveIterator

    out: dict[str, int] = {}
    for path in sorted(folder.rglob("*.warc.gz")):
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                record.content_stream().read()
                target = record.rec_headers.get_header("WARC-Target-URI") or ""
                kind = record.rec_headers.get_header("WARC-Type") or "?"
                if kind == "metadata" and target.startswith("urn:"):
                    kind += ":" + ":".join(target.split(":")[1:3])
                out[kind] = out.get(kind, 0) + records.get_record_length()
    return out


def records_delta(after: dict[str, int], before: dict[str, int], n: int) -> dict[str, float]:
    """WARC bytes per page each kind of record added, largest first."""
    grown = {k: (after[k] - before.get(k, 0)) / n for k in after}
    return {k: round(v, 1) for k, v in sorted(grown.items(), key=lambda kv: -kv[1]) if v > 0}


def wget(urls: list[str], folder: Path, port: int, dedup: Path | None) -> dict[str, Any]:
    """Fetch ``urls`` with one wget through the proxy site, writing ``folder``/wget.warc.gz (+ CDX)."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    cmd = ["wget", "-q", "-e", "robots=off", "-e", "use_proxy=yes", "-e",
           f"http_proxy=http://127.0.0.1:{port}", "--warc-file=" + str(folder / "wget"),
           "--warc-cdx", "--no-warc-keep-log", "-O", os.devnull, "-i", str(listing)]
    if dedup is not None:
        cmd.insert(1, f"--warc-dedup={dedup}")
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    return {"seconds": time.perf_counter() - started, "exit": done.returncode,
            "warc": warc_bytes(folder)}


def warcio_baseline(urls: list[str], folder: Path, port: int) -> dict[str, Any]:
    """The fallback baseline without wget: warcio's capture_http at gzip level 6 (requests)."""
    import zlib

    import requests
    from warcio.capture_http import capture_http

    folder.mkdir(parents=True, exist_ok=True)
    proxies = {"http": f"http://127.0.0.1:{port}"}
    raw = folder / "raw.warc"
    with capture_http(str(raw)):
        for url in urls:
            requests.get(url, proxies=proxies, timeout=30)
    from warcio.archiveiterator import ArchiveIterator

    out = bytearray()
    with raw.open("rb") as fh:
        for record in ArchiveIterator(fh):
            buf = record.raw_stream.read()  # re-gzip per record at level 6
            out += zlib.compress(buf, 6, zlib.MAX_WBITS + 16)
    return {"warc": len(out)}


def per_page(value: float, n: int) -> float:
    return round(value / n, 1)


def table_delta(after: dict[str, int], before: dict[str, int], n: int) -> dict[str, float]:
    """Bytes per page each table and index added, largest first (those that grew)."""
    names = set(after) | set(before)
    grown = {k: (after.get(k, 0) - before.get(k, 0)) / n for k in names}
    return {k: round(v, 1) for k, v in sorted(grown.items(), key=lambda kv: -kv[1])
            if abs(v) * n > 4096}  # more than the one page every table has


def phases(args: argparse.Namespace, port: int, config: Callable[[str], Config],
           root: Path) -> dict[str, Any]:
    """Run the four captures; print and return the figures."""
    urls = make_urls(args.urls)
    n = len(urls)
    cfg = config("collector")
    db = cfg.home / "collector.db"
    first = run_capture(cfg, urls)
    warc1, stats1 = warc_bytes(cfg.warc_dir), db_stats(db)
    have_wget = shutil.which("wget") is not None
    w1 = (wget(urls, root / "wget1", port, None) if have_wget
          else warcio_baseline(urls, root / "warcio", port))
    recs1 = record_bytes(cfg.warc_dir)
    wrecs1 = record_bytes(root / ("wget1" if have_wget else "warcio"))
    again = run_capture(cfg, urls)
    warc2, stats2 = warc_bytes(cfg.warc_dir), db_stats(db)
    w2 = wget(urls, root / "wget2", port, root / "wget1" / "wget.cdx") if have_wget else None
    recs2 = record_bytes(cfg.warc_dir)
    baseline = "wget --warc-file" if have_wget else "warcio capture_http, gzip 6 (no wget)"
    first_all = (warc1 + stats1["bytes"]) / n
    summary: dict[str, Any] = {
        "urls": n, "baseline": baseline, "requisites": cfg.requisites, "load_avg": os.getloadavg(),
        "warc_gzip_level": cfg.warc_gzip_level,
        "first": {"outcomes": first["outcomes"], "warc_per_page": per_page(warc1, n),
                  "db_per_page": per_page(stats1["bytes"], n), "all_per_page": round(first_all, 1),
                  "tables_per_page": table_delta(stats1["per"], {}, n),
                  "records_per_page": records_delta(recs1, {}, n)},
        "baseline_first_records_per_page": records_delta(wrecs1, {}, n),
        "baseline_first_per_page": per_page(w1["warc"], n),
    }
    summary["first"]["ratio"] = round(first_all / (w1["warc"] / n), 3)
    re_all = (warc2 - warc1 + stats2["bytes"] - stats1["bytes"]) / n
    summary["recapture"] = {"outcomes": again["outcomes"],
                            "warc_per_page": per_page(warc2 - warc1, n),
                            "db_per_page": per_page(stats2["bytes"] - stats1["bytes"], n),
                            "all_per_page": round(re_all, 1),
                            "tables_per_page": table_delta(stats2["per"], stats1["per"], n),
                            "records_per_page": records_delta(recs2, recs1, n)}
    if w2 is not None:
        summary["baseline_recapture_per_page"] = per_page(w2["warc"], n)
        summary["baseline_recapture_records_per_page"] = records_delta(record_bytes(root / "wget2"), {}, n)
        summary["recapture"]["ratio"] = round(re_all / (w2["warc"] / n), 3)
    f, r = summary["first"], summary["recapture"]
    print(f"{n} pages, collector warc_gzip_level {cfg.warc_gzip_level}, baseline {baseline}, "
          f"load average {summary['load_avg'][0]:.1f}")
    print(f"first capture {f['outcomes']}: WARC {f['warc_per_page']:.0f} B/page + DB "
          f"{f['db_per_page']:.0f} B/page = {f['all_per_page']:.0f} B/page; baseline "
          f"{summary['baseline_first_per_page']:.0f} B/page: {f['ratio']:.2f}x (target <= 1.2)")
    print(f"  DB per table/index, B/page: {f['tables_per_page']}")
    print(f"  WARC per kind of record, B/page: {f['records_per_page']}; baseline: "
          f"{summary['baseline_first_records_per_page']}")
    line = (f"recapture {r['outcomes']}: WARC {r['warc_per_page']:.0f} B/page + DB "
            f"{r['db_per_page']:.0f} B/page = {r['all_per_page']:.0f} B/page (target <= 1200)")
    if w2 is not None:
        line += (f"; wget --warc-dedup {summary['baseline_recapture_per_page']:.0f} B/page: "
                 f"{r['ratio']:.2f}x")
    print(line)
    print(f"  DB per table/index, B/page: {r['tables_per_page']}")
    print(f"  WARC per kind of record, B/page: {r['records_per_page']}; baseline: "
          f"{summary.get('baseline_recapture_records_per_page', {})}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=500, help="URLs per capture (default 500)")
    parser.add_argument("--start-delay", type=float, default=0.1)
    parser.add_argument("--gzip-level", type=int, default=None,
                        help="collector's warc_gzip_level (default: the configured default)")
    parser.add_argument("--requisites", action="store_true",
                        help="collector fetches page requisites too (wget does not: not comparable)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (else a temporary one)")
    args = parser.parse_args()
    manifest = CORPUS / "manifest.jsonl"
    if not manifest.is_file():
        print(f"corpus not found at {CORPUS}: nothing to benchmark")
        return 0
    from collector.config import load_config

    server, port = start_site()
    summary: dict[str, Any] = {"started": datetime.now(UTC).isoformat()}
    try:
        with tempfile.TemporaryDirectory(prefix="storage-bench-") as scratch:
            tmp = str(args.keep or scratch)
            summary.update(phases(args, port, lambda name: load_config(
                {"home": Path(tmp) / name, "allow_private": True,
                 "autothrottle_start_delay": args.start_delay, "requisites": args.requisites,
                 **({"warc_gzip_level": args.gzip_level} if args.gzip_level else {})}, env={}), Path(tmp)))
    finally:
        server.terminate()
        server.join()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(summary, indent=2, default=str))
        print(f"summary written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
