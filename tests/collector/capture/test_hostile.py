"""A hostile web: responses whose values do not fit the database, captured beside a good page; and
a hostile-server suite run through the real command (directly and through a local proxy), each case
asserting its outcome, no traceback, a bounded process-tree memory and nothing private archived."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.capture.run import capture_urls
from storage.archive import Archive
from storage.queries import closest_capture
from storage.retrieve import capture_text
from storage.verify import verify_archive
from storage.warcread import read_record_at
from tests.conftest import make_config
from tests.server import SECRET_MARK
from tests.treemem import TreePeak

pytestmark = pytest.mark.slow  # the hostile web

HOSTILE = {
    "/raw/status?code=100000000000000000000": b"HTTP/1.1 100000000000000000000\r\n",
    "/raw/status?code=3000000000": b"HTTP/1.1 3000000000\r\n",
    "/raw/ctype-long": b"\r\nContent-Type: text/html; charset=utf-8; " + b"x" * 274 + b"\r\n",
    "/raw/ctype-nul": b"\r\nContent-Type: text/html\x00; charset=utf-8\r\n",
}


def test_hostile_values_never_cost_the_batch(server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    good = server + "/page/beside-hostile"
    urls = [good, *(server + path for path in HOSTILE)]
    results = {r["url"]: r for r in capture_urls(config, urls)}  # no "capture failed"
    assert set(results) == set(urls)
    assert results[good]["outcome"] == "captured" and results[good]["http_status"] == 200
    assert all(r["id"] for r in results.values()), results
    huge, big = (results[server + "/raw/status?code=" + c] for c in ("100000000000000000000",
                                                                     "3000000000"))
    for res in (huge, big):  # a status that is no HTTP status is not stored as one
        assert res["outcome"] == "captured" and res["http_status"] is None
        assert "status" in res["reason_detail"]
    long_type = results[server + "/raw/ctype-long"]["content_type"]
    assert len(long_type) == 255 and long_type.startswith("text/html; charset=utf-8; xxx")
    assert "\x00" not in results[server + "/raw/ctype-nul"]["content_type"]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        for url, res in results.items():
            row = closest_capture(archive.sessions, url)
            assert row is not None and row.id == res["id"]
        report = verify_archive(archive.sessions, config.warc_dir)
        assert report.ok, report.problems
    finally:
        archive.close()
    for path, raw in HOSTILE.items():  # the WARC keeps what was received
        res = results[server + path]
        record = read_record_at(config.warc_dir, res["warc_file"], res["warc_offset"])
        assert record.type == "response" and record.http_head is not None
        assert raw in record.http_head, record.http_head


ROOT = Path(__file__).resolve().parents[3]
MEMORY_BOUND = 600 * 2**20  # the whole process tree (PSS); a one-URL capture is ~250 MiB
# (path, outcome, reason, extraction): what each hostile case must end as
CASES: list[tuple[str, str, str | None, str | None]] = [
    ("/page/beside-the-hostile", "captured", None, "ok"),
    ("/hostile/headers?mb=60", "failed", "too-large", None),  # header lines without end
    ("/hostile/long-header?kb=60", "captured", None, "ok"),  # a 60 KB Set-Cookie
    ("/hostile/long-header?kb=1024", "failed", "too-large", None),  # one header line over the cap
    ("/hostile/no-length?mb=20", "failed", "too-large", None),  # over max_body_bytes, no length
    ("/hostile/endless-chunked", "failed", "too-large", None),
    ("/hostile/tags?mb=48&gz=1", "failed", "too-large-decoded", None),  # past max_body_bytes
    ("/hostile/tags?mb=6&gz=1", "captured", None, "too-large"),  # past extract_max_bytes
    ("/hostile/tags?mb=3&kind=p", "captured", None, "too-large"),  # tag flood
    ("/hostile/multi-gzip", "captured", None, "ok"),
    ("/refresh-to?to=javascript:alert(1)", "captured", None, "ok"),
    ("/refresh-to?to=mailto:someone@example.org", "captured", None, "ok"),
    ("/raw/status?code=100000000000000000000", "captured", None, "ok"),
]


def run_capture(home: Path, urls: list[str], *flags: str,
                env: dict[str, str] | None = None) -> tuple[dict[str, dict[str, Any]], str, int]:
    """``collector capture --json`` in a child process: (result by URL, stderr, peak tree memory)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    full_env.update({"COLLECTOR_HOME": str(home), "PYTHONPATH": str(ROOT),
                     "COLLECTOR_EXTRACT_WORKERS": "2", "COLLECTOR_RETRY_TIMES": "0",
                     "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0", "COLLECTOR_DOWNLOAD_TIMEOUT": "60",
                     "COLLECTOR_MAX_BODY_BYTES": str(8 * 2**20),
                     "COLLECTOR_EXTRACT_MAX_BYTES": str(4 * 2**20), **(env or {})})
    proc = subprocess.Popen([sys.executable, "-m", "collector", "capture", "--json", *flags, *urls],
                            env=full_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    with TreePeak(proc.pid) as peak:
        out, err = proc.communicate(timeout=600)
    results = {}
    for line in out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
            results[res["url"]] = res
    return results, err, peak.peak


def warc_bytes(home: Path) -> Iterator[bytes]:
    """The decompressed content of every WARC file of ``home``."""
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        yield gzip.decompress(path.read_bytes())


def check_cases(home: Path, base: str, results: dict[str, dict[str, Any]], err: str, peak: int) -> None:
    """Every case ended as it must, the run printed no traceback and stayed under the bound."""
    assert "Traceback" not in err, err[-3000:]
    assert peak < MEMORY_BOUND, f"peak {peak / 2**20:.0f} MiB"
    for path, outcome, reason, extraction in CASES:
        res = results[base + path]
        assert (res["outcome"], res["reason"], res["extraction"]) == (outcome, reason, extraction), res
        assert res["id"], res  # every attempt has its row
    assert "header" in results[base + "/hostile/headers?mb=60"]["reason_detail"]
    assert "Content-Length" in results[base + "/hostile/no-length?mb=20"]["reason_detail"]
    archive = Archive.open(f"sqlite:///{home / 'collector.db'}", home / "warcs")
    try:
        row = closest_capture(archive.sessions, base + "/hostile/multi-gzip")
        assert row is not None
        text = capture_text(home / "warcs", row)["text"]
        assert "first member" in text and "second member" in text  # every gzip member's text
    finally:
        archive.close()
    assert all(SECRET_MARK.encode() not in data for data in warc_bytes(home))


def test_hostile_server_directly(server: str, home: Path) -> None:
    urls = [server + path for path, *_ in CASES]
    results, err, peak = run_capture(home, [*urls, "http://no-such-host.invalid/page"],
                                     "--allow-private")
    check_cases(home, server, results, err, peak)
    assert results["http://no-such-host.invalid/page"]["reason"] == "dns-failure"


def test_hostile_server_through_a_proxy(server: str, home: Path) -> None:
    """The same cases through a local proxy (made-up host names), private targets refused: a redirect
    to this machine fetches nothing of it."""
    base = "http://hostile-site.test"
    to_private = f"{base}/to?url={server}/hostile/secret"
    results, err, peak = run_capture(home, [*(base + path for path, *_ in CASES), to_private],
                                     env={"http_proxy": server, "no_proxy": ""})
    check_cases(home, base, results, err, peak)
    assert results[to_private]["reason"] == "private-address"


def test_an_extraction_timeout_on_the_last_page_prints_no_traceback(server: str, home: Path) -> None:
    """pebble replaces a timed-out worker while the pool closes; that worker must go quietly."""
    urls = [server + "/page/before-heavy", server + "/heavy"]
    results, err, peak = run_capture(home, urls, "--allow-private",
                                     env={"COLLECTOR_EXTRACT_TIMEOUT": "0.05"})
    assert [results[u]["outcome"] for u in urls] == ["captured", "captured"]
    assert results[urls[1]]["extraction"] == "timeout"
    assert "Traceback" not in err, err[-3000:]
    assert peak < MEMORY_BOUND


def test_robots_txt_is_parsed_up_to_500_kib(tmp_path: Path, home: Path) -> None:
    """A 20 MiB robots.txt: its first rules hold, a rule past 500 KiB is ignored (as Google does), and
    memory stays bounded."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "server.py"), "--robots-mb", "20"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = f"http://127.0.0.1:{int(proc.stdout.readline().split()[1])}"
        proc.stdout.close()
        urls = [base + "/page/late-rule", base + "/robots-blocked/early-rule"]
        results, err, peak = run_capture(home, urls, "--allow-private",
                                         env={"COLLECTOR_MAX_BODY_BYTES": str(50 * 2**20)})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "Traceback" not in err, err[-3000:]
    assert peak < MEMORY_BOUND, f"peak {peak / 2**20:.0f} MiB"
    assert results[urls[0]]["outcome"] == "captured", results[urls[0]]
    assert results[urls[1]]["reason"] == "robots-txt", results[urls[1]]


def test_a_page_over_the_workers_memory_limit_is_too_large(server: str, home: Path) -> None:
    """With the tag cap out of the way, a tag flood meets the worker's memory limit: the page is
    recorded as extraction too-large and the next pages are still extracted."""
    config = make_config(home, extract_max_tags=10**9, extract_max_memory_mb=250,
                         extract_workers=1, extract_timeout=300.0)
    flood = server + "/hostile/tags?mb=3&kind=p"
    after = [server + f"/page/after-flood-{n}" for n in range(3)]
    results = {r["url"]: r for r in capture_urls(config, [flood, *after])}
    assert results[flood]["outcome"] == "captured"
    assert results[flood]["extraction"] == "too-large", results[flood]
    assert [results[u]["extraction"] for u in after] == ["ok"] * 3
