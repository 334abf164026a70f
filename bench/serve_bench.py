"""Benchmark of `collector serve`: Memento TimeGate/TimeMap latency over a large SQLite archive, compared
with a static file from the same server, and full-text search over many extracted texts.

    .venv/bin/python bench/serve_bench.py                     # 1,000,000 captures, 100,000 texts
    .venv/bin/python bench/serve_bench.py --captures 100000 --texts 10000 --requests 500

The archive's rows are inserted directly (TimeGate and TimeMap never read the WARC files), 10 captures
per URL; the texts are synthetic (a Zipf-distributed vocabulary) and go through the real search index
(FTS5 triggers). The server runs as its own process (`collector serve`); this process is the load
client: ``--concurrency`` keep-alive connections in threads, each sending requests back to back. It
prints p50/p99 latency and throughput per endpoint; targets (issue 6): TimeGate p50 under 5 ms, search
p50 under 50 ms. It asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from storage.canonical import url_key  # noqa: E402
from storage.database import connect  # noqa: E402
from storage.models import Capture, SearchDocument  # noqa: E402

T0 = datetime(2020, 1, 1, tzinfo=UTC)
PER_URL = 10


def url_of(i: int) -> str:
    return f"https://site{i % 997}.example.org/news/{i}/story.html"


def fill_captures(db_url: str, total: int, batch: int = 20_000) -> float:
    """Insert ``total`` capture rows (PER_URL per URL, a week apart); returns seconds taken."""
    sessions = connect(db_url)
    start = time.perf_counter()
    rows = []
    for n in range(total):
        i, k = divmod(n, PER_URL)
        url = url_of(i)
        at = T0 + timedelta(days=7 * k, seconds=i % 86_400, microseconds=n % 1_000_000)
        rows.append({"url": url, "url_key": url_key(url), "captured_at": at, "outcome": "captured",
                     "http_status": 200, "final_url": url, "redirect_chain": [{"url": url, "status": 200}],
                     "content_type": "text/html", "content_length": 1000, "sha256": f"{n:064x}",
                     "warc_file": "bench.warc.gz", "warc_offset": n * 1000, "warc_length": 1000,
                     "payload_file": "bench.warc.gz", "payload_offset": n * 1000, "payload_length": 1000,
                     "records": [], "ignore_robots": False, "allow_private": False})
        if len(rows) >= batch:
            _flush(sessions, Capture, rows)
    _flush(sessions, Capture, rows)
    sessions.kw["bind"].dispose()
    return time.perf_counter() - start


def _flush(sessions: object, model: type, rows: list[dict[str, object]]) -> None:
    if rows:
        with sessions() as session, session.begin():  # type: ignore[operator]
            session.execute(insert(model), rows)
        rows.clear()


def vocabulary(size: int = 20_000, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


def fill_texts(db_url: str, total: int, words: list[str], batch: int = 2_000) -> float:
    """Insert ``total`` search documents (about 250 words each) through the FTS index."""
    sessions = connect(db_url)
    rng = random.Random(2)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    start = time.perf_counter()
    rows = []
    for n in range(total):
        text = " ".join(rng.choices(words, weights, k=250))
        url = url_of(n)
        rows.append({"capture_id": n * PER_URL + 1, "url": url, "url_key": url_key(url),
                     "host": f"site{n % 997}.example.org", "captured_at": T0 + timedelta(seconds=n),
                     "text_sha256": f"{n:064x}", "title": " ".join(rng.choices(words, weights, k=6)),
                     "text": text})
        if len(rows) >= batch:
            _flush(sessions, SearchDocument, rows)
    _flush(sessions, SearchDocument, rows)
    sessions.kw["bind"].dispose()
    return time.perf_counter() - start


def start_server(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", "0", "--read-only"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, line.split(" on ", 1)[1].split()[0]


def load(base: str, paths: list[tuple[str, dict[str, str]]], concurrency: int, expect: int
         ) -> tuple[list[float], float]:
    """Send every (path, headers) once over ``concurrency`` keep-alive connections; latencies in ms."""
    host, port = base.split("//", 1)[1].split(":")
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(reversed(paths))

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = []
        while True:
            with lock:
                if not queue:
                    break
                path, headers = queue.pop()
            began = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - began) * 1000)
            if response.status != expect:
                raise SystemExit(f"{path}: HTTP {response.status}, expected {expect}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - began


def report(name: str, latencies: list[float], seconds: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"  {name:<22} n={len(ordered):<6} p50 {statistics.median(ordered):7.2f} ms   "
          f"p99 {p99:7.2f} ms   {len(ordered) / seconds:8.0f} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--captures", type=int, default=1_000_000)
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--home", type=Path, help="reuse (or keep) the archive here")
    args = parser.parse_args()
    tmp = None
    home = args.home
    if home is None:
        tmp = tempfile.TemporaryDirectory(prefix="collector-bench-")
        home = Path(tmp.name)
    db_url = f"sqlite:///{home / 'collector.db'}"
    words = vocabulary()
    print(f"archive: {home}")
    if not (home / "collector.db").exists():
        print(f"  inserting {args.captures:,} captures ... {fill_captures(db_url, args.captures):.1f} s")
        print(f"  indexing {args.texts:,} texts ...      {fill_texts(db_url, args.texts, words):.1f} s")
    urls = args.captures // PER_URL
    rng = random.Random(3)
    proc, base = start_server(home)
    try:
        load(base, [("/static/app.css", {})] * 200, args.concurrency, 200)  # warm up
        print(f"server {base}, {args.concurrency} concurrent connections, {args.requests} requests each:")
        static: list[tuple[str, dict[str, str]]] = [("/static/app.css", {})] * args.requests
        report("static file", *load(base, static, args.concurrency, 200))
        gates = []
        for _ in range(args.requests):
            when = T0 + timedelta(days=rng.uniform(0, 7 * PER_URL))
            gates.append((f"/timegate/{url_of(rng.randrange(urls))}",
                          {"Accept-Datetime": format_datetime(when, usegmt=True)}))
        report("TimeGate (302)", *load(base, gates, args.concurrency, 302))
        maps: list[tuple[str, dict[str, str]]] = [(f"/timemap/link/{url_of(rng.randrange(urls))}", {})
                                                  for _ in range(args.requests)]
        report("TimeMap (link-format)", *load(base, maps, args.concurrency, 200))
        common = words[:50]
        queries = [f"/search.json?q={quote(rng.choice(common) + ' ' + rng.choice(words[:2000]))}"
                   for _ in range(max(50, args.requests // 10))]
        searches: list[tuple[str, dict[str, str]]] = [(q, {}) for q in queries]
        report(f"search ({args.texts:,} texts)", *load(base, searches, args.concurrency, 200))
        report("search, one at a time", *load(base, searches, 1, 200))
        report("TimeGate, one at a time", *load(base, gates[: args.requests // 2], 1, 302))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
