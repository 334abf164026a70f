"""Benchmark of `collector serve`: Memento TimeGate/TimeMap latency over a large SQLite archive, compared
with a static file from the same server, and full-text search over many extracted texts.

    .venv/bin/python bench/serve_bench.py                     # 1,000,000 captures, 100,000 texts
    .venv/bin/python bench/serve_bench.py --captures 100000 --texts 10000 --requests 500

The archive's rows are inserted directly (TimeGate and TimeMap never read the WARC files), 10 captures
per URL; the texts are synthetic (a Zipf-distributed vocabulary) and go through the real search index
(FTS5 triggers). The server runs as its own process (`collector serve --workers N`); this process is
the load client: for each connection count of ``--connections`` (default 1, 4 and 8) it opens that many
keep-alive connections in threads (a minimal socket client; ``--client http.client`` for the standard
library's, which costs the client more CPU than the server), each sending requests back to back, and
measures a static file served by the same server first, then TimeGate, TimeMap and search, so each
endpoint is compared with the static baseline at the same load. It prints p50/p99 latency, throughput,
p50 relative to the static file, and the CPU time per request of the server (all its workers, from
/proc) and of this client: on a shared machine latency varies with other load, CPU per request much
less. Targets (issue 6): TimeGate p50 under 5 ms, search p50 under 50 ms. It asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
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


def start_server(home: Path, workers: int | None) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    extra = ["--workers", str(workers)] if workers is not None else []
    command = [sys.executable, "-m", "collector", "serve", "--port", "0", "--read-only", *extra]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, line.split(" on ", 1)[1].split()[0]


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client: prepared request bytes out, status and body in.

    ``http.client`` spends about 0.7 ms of CPU per request on this machine, more than the server spends
    on a static file; with 8 client threads sharing one GIL, that cost showed up as server latency.
    """

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(262_144)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def roundtrip(self, request: bytes) -> tuple[int, bytes]:
        """Send one prepared request; return the status and body of its response."""
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = self.buffer[:end].decode("latin-1")
        self.buffer = self.buffer[end + 4:]
        found = _LENGTH.search(head)
        if found is None:
            raise ConnectionError(f"no Content-Length in {head!r}")
        length = int(found.group(1))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(head[9:12]), body

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


_LENGTH = re.compile(r"\r\ncontent-length:\s*(\d+)", re.I)


def prepared(host: str, path: str, headers: dict[str, str]) -> bytes:
    """The bytes of a GET request."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def load(base: str, paths: list[tuple[str, dict[str, str]]], concurrency: int, expect: int,
         client: str = "raw") -> tuple[list[float], float]:
    """Send every (path, headers) once over ``concurrency`` keep-alive connections; latencies in ms.

    ``client`` is ``raw`` (``RawConnection``) or ``http.client`` (the standard library's, heavier).
    """
    netloc = base.split("//", 1)[1]
    host, port = netloc.split(":")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    queue = [(path, headers, prepared(netloc, path, headers)) for path, headers in reversed(paths)]

    def worker() -> None:
        raw = RawConnection(host, int(port)) if client == "raw" else None
        conn = http.client.HTTPConnection(host, int(port), timeout=60) if raw is None else None
        mine = []
        try:
            while True:
                with lock:
                    if not queue or errors:
                        break
                    path, headers, request = queue.pop()
                began = time.perf_counter()
                if raw is not None:
                    status, _ = raw.roundtrip(request)
                else:
                    assert conn is not None
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                mine.append((time.perf_counter() - began) * 1000)
                if status != expect:
                    raise ConnectionError(f"{path}: HTTP {status}, expected {expect}")
        except (OSError, http.client.HTTPException) as exc:
            with lock:
                errors.append(str(exc))
        finally:
            (raw or conn).close()  # type: ignore[union-attr]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"load failed: {errors[0]}")
    return latencies, time.perf_counter() - began


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and its live workers (Linux /proc; else 0)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for one in [str(pid), *children]:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except OSError:
        return 0.0
    return total


def measure(pid: int, base: str, paths: list[tuple[str, dict[str, str]]], connections: int, expect: int,
            client: str) -> tuple[list[float], float, float, float]:
    """``load`` and its CPU cost: (latencies ms, seconds, server and client CPU ms per request)."""
    server_before, client_before = server_cpu(pid), time.process_time()
    latencies, seconds = load(base, paths, connections, expect, client)
    n = len(latencies)
    return (latencies, seconds, (server_cpu(pid) - server_before) * 1000 / n,
            (time.process_time() - client_before) * 1000 / n)


Row = tuple[str, int, float, float, float, float, float]  # endpoint, connections, p50, p99, req/s, CPU ms/req


def summarize(name: str, connections: int, latencies: list[float], seconds: float, server_ms: float,
              client_ms: float, baseline: float | None = None) -> Row:
    """Print one line (p50, p99, throughput, CPU per request, p50 relative to the static file)."""
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    ratio = f"{p50 / baseline:6.1f}x static" if baseline else ""
    print(f"  {name:<22} {connections:>2} conn  n={len(ordered):<5} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
          f"  {len(ordered) / seconds:6.0f} req/s  CPU/req server {server_ms:5.2f} client {client_ms:4.2f} ms"
          f"  {ratio}", flush=True)
    return name, connections, p50, p99, len(ordered) / seconds, server_ms, client_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--captures", type=int, default=1_000_000)
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000, help="requests per endpoint and load")
    parser.add_argument("--connections", default="1,4,8",
                        help="comma-separated numbers of concurrent keep-alive connections (default 1,4,8)")
    parser.add_argument("--workers", type=int, default=None,
                        help="`collector serve --workers` (default: the server's own default)")
    parser.add_argument("--client", choices=["raw", "http.client"], default="raw",
                        help="load client: a minimal socket client (default) or the standard library's")
    parser.add_argument("--home", type=Path, help="reuse (or keep) the archive here")
    args = parser.parse_args()
    loads = [int(n) for n in args.connections.split(",")]
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
    gates = []
    for _ in range(args.requests):
        when = T0 + timedelta(days=rng.uniform(0, 7 * PER_URL))
        gates.append((f"/timegate/{url_of(rng.randrange(urls))}",
                      {"Accept-Datetime": format_datetime(when, usegmt=True)}))
    maps: list[tuple[str, dict[str, str]]] = [(f"/timemap/link/{url_of(rng.randrange(urls))}", {})
                                              for _ in range(args.requests)]
    common = words[:50]
    searches: list[tuple[str, dict[str, str]]] = [
        (f"/search.json?q={quote(rng.choice(common) + ' ' + rng.choice(words[:2000]))}", {})
        for _ in range(max(50, args.requests // 10))]
    static: list[tuple[str, dict[str, str]]] = [("/static/app.css", {})] * args.requests
    proc, base = start_server(home, args.workers)
    rows: list[Row] = []
    try:
        load(base, [("/static/app.css", {})] * 200, max(loads), 200)  # warm up
        print(f"server {base} (workers: {args.workers or 'default'}; {os.cpu_count()} CPUs; "
              f"client {args.client}), "
              f"{args.requests} requests per endpoint and load ({len(searches)} searches over "
              f"{args.texts:,} texts):")
        for connections in loads:
            baseline = summarize("static file", connections,
                                 *measure(proc.pid, base, static, connections, 200, args.client))
            rows.append(baseline)
            for name, paths, status in (("TimeGate (302)", gates, 302),
                                        ("TimeMap (link-format)", maps, 200),
                                        ("search", searches, 200)):
                rows.append(summarize(name, connections,
                                      *measure(proc.pid, base, paths, connections, status, args.client),
                                      baseline=baseline[2]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if tmp is not None:
            tmp.cleanup()
    print("\n| endpoint | connections | p50 ms | p99 ms | req/s | p50 / static p50 | server CPU ms/req |")
    print("|---|---|---|---|---|---|---|")
    statics = {r[1]: r[2] for r in rows if r[0] == "static file"}
    for name, connections, p50, p99, rate, server_ms, _client_ms in rows:
        print(f"| {name} | {connections} | {p50:.2f} | {p99:.2f} | {rate:,.0f} | "
              f"{p50 / statics[connections]:.1f} | {server_ms:.2f} |")


if __name__ == "__main__":
    main()
