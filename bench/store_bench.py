"""WARC store benchmark (issue 16). Run from the repository root:

    .venv/bin/python bench/store_bench.py [--pages N] [--rounds R] [--upload-mb M]

An archive of N pages of the trafilatura-eval corpus (as HTML captures, one WARC file, written by the
archive of a home whose worker is ``bench``) is read back three ways, in the same run:
``local`` (the writing home's own warcs/), ``directory`` (a second home whose ``warc_store`` is a shared
directory: the same files, opened by another reader; on one machine a local disk, so the figure is the
floor of a network filesystem's) and ``s3`` (a third home with an empty staging directory and an
``s3://`` store on moto's S3-compatible server, its own process on 127.0.0.1: every read is HTTP
range requests; moto is a Python server, so its figures are a floor, not S3's).
Reads: ``get --raw`` (``retrieve.capture_payload``: the record, its payload checked against its
sha256) and replay (``payloadstream.payload_chunks``: the payload streamed in chunks), every page,
R rounds interleaved (after a warm-up round); the median round is kept, beside the median of one
bare 64 KiB range GET. Upload: ``upload_pending`` of M MB of WARC files (each read back and its
sha256 compared: the upload's whole cost). Prints pages/s, ratios to ``local`` and the load
average; writes bench/out/store_bench.json. No asserts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import retrieve
from storage.archive import Archive
from storage.payloadstream import payload_chunks
from storage.records import CaptureInput, CaptureRecord, Exchange
from storage.store import ObjectStore, attach
from storage.upload import upload_pending

CORPUS = Path("/work/shared/corpora/trafilatura-eval/html/eval")
OUT = Path(__file__).resolve().parent / "out" / "store_bench.json"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def corpus_pages(count: int) -> list[bytes]:
    """``count`` pages of the corpus (gzipped or not), cycling when it has fewer."""
    files = sorted(p for p in CORPUS.glob("*.html*") if p.is_file())
    pages = []
    for path in files[:count]:
        data = path.read_bytes()
        pages.append(gzip.decompress(data) if path.suffix == ".gz" else data)
    while len(pages) < count:
        pages.append(pages[len(pages) % len(files)])
    return pages


def capture_input(n: int, body: bytes) -> CaptureInput:
    """Page ``n`` as a one-hop HTML capture."""
    url = f"http://site{n % 50:03d}.test/page/{n}"
    at = T0 + timedelta(seconds=n)
    hop = Exchange(url=url, requested_at=at, status=200,
                   request_headers=[("Host", url.split("/")[2]), ("User-Agent", "store-bench")],
                   response_headers=[("Content-Type", "text/html; charset=utf-8")], body=body)
    return CaptureInput(url=url, captured_at=at, outcome="captured", exchanges=[hop], final_url=url,
                        redirect_chain=[{"url": url, "status": 200}])


def read_round(warc_dir: Path, captures: list[CaptureRecord], how: str) -> float:
    """Seconds to read every capture's payload once (``raw``: get --raw; ``replay``: streamed)."""
    start = time.perf_counter()
    for capture in captures:
        if how == "raw":
            retrieve.capture_payload(warc_dir, capture)
        else:
            for _chunk in payload_chunks(warc_dir, capture)[1]:
                pass
    return time.perf_counter() - start


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3-compatible server in a process of its own (not a thread of this one: it would take
    the GIL from the reads it answers), and its URL once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto's server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--upload-mb", type=int, default=64)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    moto, endpoint = start_moto()
    results: dict[str, Any] = {"pages": args.pages, "rounds": args.rounds,
                               "load_before": os.getloadavg()}
    try:
        with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
            root = Path(tmp)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            store = ObjectStore.from_uri(f"s3://{bucket}/warcs", endpoint_url=endpoint)
            store.fs.mkdir(bucket)
            writing = root / "shared"  # the writing home's directory store
            attach(writing, store)  # and its files uploaded at close, for the s3 reader
            archive = Archive.open(f"sqlite:///{root / 'collector.db'}", writing, worker="bench")
            pages = corpus_pages(args.pages)
            captures = archive.commit_captures([capture_input(n, b) for n, b in enumerate(pages)])
            archive.close()
            payload_bytes = sum(len(p) for p in pages)
            results["payload_mb"] = round(payload_bytes / 2**20, 2)
            results["warc_mb"] = round(sum(p.stat().st_size for p in writing.glob("*.warc.gz")) / 2**20, 2)
            reader_dir = root / "reader-dir"
            reader_dir.symlink_to(writing)  # a second home reading the same directory store
            s3_staging = root / "reader-s3"  # an empty staging directory: every read is a request
            attach(s3_staging, ObjectStore.from_uri(f"s3://{bucket}/warcs", endpoint_url=endpoint))
            where = {"local": writing, "directory": reader_dir, "s3": s3_staging}
            for how in ("raw", "replay"):
                # rounds interleave the three readers (after one warm-up round of each), so that
                # the machine's load and the page cache weigh on them alike
                times: dict[str, list[float]] = {name: [] for name in where}
                for round_ in range(args.rounds + 1):
                    for name, warc_dir in where.items():
                        secs = read_round(warc_dir, captures, how)
                        if round_:
                            times[name].append(secs)
                for name in where:
                    secs = statistics.median(times[name])
                    results[f"{how}_{name}_pages_per_s"] = round(len(captures) / secs, 1)
                    results[f"{how}_{name}_ms_per_page"] = round(secs * 1000 / len(captures), 3)
                base = results[f"{how}_local_pages_per_s"]
                for name in ("directory", "s3"):
                    results[f"{how}_{name}_vs_local"] = round(results[f"{how}_{name}_pages_per_s"] / base, 3)
            # the floor of an s3 read here: one bare 64 KiB range GET of moto's (no parsing, no checks)
            key = f"{bucket}/warcs/{captures[0].warc_file}"
            gets = []
            for n in range(50):
                start = time.perf_counter()
                store.fs.cat_file(key, start=n * 1024, end=n * 1024 + 65536)
                gets.append(time.perf_counter() - start)
            results["s3_bare_range_get_ms"] = round(statistics.median(gets) * 1000, 3)

            # upload throughput: files of 16 MiB of incompressible-enough WARC data
            staging = root / "upload"
            staging.mkdir()
            files = max(1, args.upload_mb // 16)
            for n in range(files):
                (staging / f"collector-20260101000000000000-bench-1-{n:05d}.warc.gz").write_bytes(
                    os.urandom(16 * 2**20))
            start = time.perf_counter()
            report = upload_pending(staging, store)
            secs = time.perf_counter() - start
            assert not report.failed, report.failed
            mb = files * 16
            results["upload_mb"] = mb
            results["upload_mb_per_s"] = round(mb / secs, 1)
            results["upload_s_per_16mb_file"] = round(secs / files, 3)
    finally:
        moto.terminate()
        moto.wait(timeout=20)
    results["load_after"] = os.getloadavg()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
