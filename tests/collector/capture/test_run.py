"""End-to-end captures: real Scrapy crawls of the local test server into a real archive."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from collector.capture.run import capture_urls, check_url, http_fallback
from storage import retrieve
from storage.archive import Archive
from storage.queries import closest_capture, snapshots
from storage.verify import verify_archive
from storage.warcread import read_record_at
from tests.conftest import make_config, warcio_check


def fetch_raw(url: str) -> bytes:
    """The bytes the server sends for ``url`` (no content-decoding)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:
        return response.read()


@pytest.fixture(scope="module")
def batch(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One capture run over every kind of page and failure."""
    home = tmp_path_factory.mktemp("batch")
    tls = server.replace("http://", "https://") + "/page/tls"
    paths = ["/page/a", "/gzip", "/chunked", "/redirect/3", "/loop", "/slow?s=5", "/big?kb=2048",
             "/bomb", "/status/404", "/status/500", "/reset", "/doc.pdf", "/robots-blocked/x",
             "/meta-refresh/head", "/meta-refresh/body"]
    urls = [server + p for p in paths] + [
        "http://127.0.0.1:1/refused", tls, "file:///etc/passwd", "not a url", "javascript:alert(1)",
    ]
    config = make_config(home, download_timeout=2.0, max_body_bytes=1024 * 1024,
                         max_redirects=5)
    results = capture_urls(config, urls)
    by_url = {r["url"]: r for r in results}
    return {"home": home, "config": config, "results": by_url, "server": server, "tls": tls}


def result(batch: dict[str, Any], path: str) -> dict[str, Any]:
    return batch["results"][batch["server"] + path]


def test_every_input_has_exactly_one_result(batch: dict[str, Any]) -> None:
    assert len(batch["results"]) == 20


def test_byte_exact_round_trip(batch: dict[str, Any], server: str) -> None:
    served = fetch_raw(server + "/page/a")
    res = result(batch, "/page/a")
    assert res["outcome"] == "captured" and res["http_status"] == 200
    assert res["sha256"] == hashlib.sha256(served).hexdigest()
    archive = Archive.open(batch["config"].db_url, batch["config"].warc_dir)
    try:
        record = closest_capture(archive.sessions, server + "/page/a")
    finally:
        archive.close()
    assert retrieve.capture_payload(batch["config"].warc_dir, record) == served


def test_text_is_extracted_and_hashed(batch: dict[str, Any]) -> None:
    res = result(batch, "/page/a")
    assert res["extraction"] == "ok"
    assert res["title"] == "Article a"
    assert res["text_sha256"] and len(res["text_sha256"]) == 64
    assert res["published"] == "2025-06-03"


def test_gzip_response_is_archived_compressed(batch: dict[str, Any], server: str) -> None:
    served = fetch_raw(server + "/gzip")
    res = result(batch, "/gzip")
    assert served[:2] == b"\x1f\x8b"
    assert res["sha256"] == hashlib.sha256(served).hexdigest()
    record = read_record_at(batch["config"].warc_dir, res["warc_file"], res["warc_offset"])
    assert record.payload == served
    assert ("Content-Encoding", "gzip") in record.http_headers
    assert res["extraction"] == "ok" and res["title"] == "Article gzip"
    assert gzip.decompress(record.payload).startswith(b"<!doctype html>")


def test_chunked_response_is_stored_dechunked(batch: dict[str, Any], server: str) -> None:
    res = result(batch, "/chunked")
    record = read_record_at(batch["config"].warc_dir, res["warc_file"], res["warc_offset"])
    assert record.payload.startswith(b"<!doctype html>")
    names = [name.lower() for name, _ in record.http_headers]
    assert "transfer-encoding" not in names


def test_meta_refresh_in_the_head_of_a_long_page_is_followed(batch: dict[str, Any],
                                                            server: str) -> None:
    res = result(batch, "/meta-refresh/head")
    assert res["outcome"] == "captured" and res["final_url"] == server + "/page/refreshed"
    assert [h["url"] for h in res["redirect_chain"]] == [server + "/meta-refresh/head",
                                                        server + "/page/refreshed"]
    late = result(batch, "/meta-refresh/body")  # past the first 4,096 characters: not followed
    assert late["final_url"] == server + "/meta-refresh/body"


def test_redirect_chain_is_recorded_hop_by_hop(batch: dict[str, Any], server: str) -> None:
    res = result(batch, "/redirect/3")
    assert res["outcome"] == "captured"
    assert res["final_url"] == server + "/page/final"
    assert [h["status"] for h in res["redirect_chain"]] == [302, 302, 302, 200]
    archive = Archive.open(batch["config"].db_url, batch["config"].warc_dir)
    try:
        record = closest_capture(archive.sessions, server + "/redirect/3")
    finally:
        archive.close()
    responses = [r for r in record.records if r["type"] == "response"]
    assert [r["uri"] for r in responses][-1] == server + "/page/final"
    assert len(responses) == 4


@pytest.mark.parametrize(("path", "reason"), [
    ("/loop", "too-many-redirects"),
    ("/slow?s=5", "timeout"),
    ("/big?kb=2048", "too-large"),
    ("/bomb", "too-large-decoded"),
    ("/reset", "connection-lost"),
    ("/robots-blocked/x", "robots-txt"),
])
def test_failures_are_rows_with_reasons(batch: dict[str, Any], path: str, reason: str) -> None:
    res = result(batch, path)
    assert res["outcome"] == "failed"
    assert res["reason"] == reason, res
    assert res["reason_detail"]
    assert res["warc_file"], "a failed attempt is recorded in the WARC too"


def test_connection_refused_and_tls_errors(batch: dict[str, Any]) -> None:
    refused = batch["results"]["http://127.0.0.1:1/refused"]
    assert (refused["outcome"], refused["reason"]) == ("failed", "connection-refused")
    tls = batch["results"][batch["tls"]]
    assert (tls["outcome"], tls["reason"]) == ("failed", "tls-error")
    assert "fallback_from" not in tls  # a URL given with https is not tried as http


@pytest.mark.parametrize("path", ["/loop", "/slow?s=5", "/big?kb=2048", "/bomb", "/reset",
                                  "/robots-blocked/x", "http://127.0.0.1:1/refused", "tls"])
def test_reason_details_are_human_messages(batch: dict[str, Any], path: str) -> None:
    url = batch["tls"] if path == "tls" else path if "://" in path else batch["server"] + path
    detail = batch["results"][url]["reason_detail"]
    assert "<twisted" not in detail and "Failure" not in detail and "[<" not in detail, detail
    lead = {"tls": "TLS handshake failed: ", "/slow?s=5": "timed out: "}.get(path, "")
    assert detail.startswith(lead) and len(detail) > len(lead), detail


def test_bad_inputs_are_skipped_with_reason(batch: dict[str, Any]) -> None:
    for given in ("file:///etc/passwd", "not a url", "javascript:alert(1)"):
        res = batch["results"][given]
        assert res["outcome"] == "skipped"
        assert given in res["reason_detail"]


def test_http_errors_are_captured_evidence(batch: dict[str, Any]) -> None:
    assert result(batch, "/status/404")["http_status"] == 404
    assert result(batch, "/status/404")["outcome"] == "captured"
    assert result(batch, "/status/500")["http_status"] == 500


def test_an_unreadable_pdf_is_archived_and_its_extraction_ends(batch: dict[str, Any]) -> None:
    res = result(batch, "/doc.pdf")  # a PDF without pages or trailer: pypdf cannot read it
    assert res["outcome"] == "captured" and res["text_sha256"] is None
    assert res["content_type"] == "application/pdf"
    assert res["extraction"] == "error"  # done, not pending


def test_batch_verifies_and_passes_warcio_check(batch: dict[str, Any]) -> None:
    archive = Archive.open(batch["config"].db_url, batch["config"].warc_dir)
    try:
        report = verify_archive(archive.sessions, batch["config"].warc_dir)
    finally:
        archive.close()
    assert report.ok, report.problems
    assert report.records_checked > 30
    warcio_check(batch["home"])


def test_identical_recapture_is_a_small_revisit(server: str, home: Path) -> None:
    config = make_config(home)
    first = capture_urls(config, [server + "/same"])[0]
    size_before = sum(p.stat().st_size for p in config.warc_dir.glob("*.warc.gz"))
    second = capture_urls(config, [server + "/same"])[0]
    size_after = sum(p.stat().st_size for p in config.warc_dir.glob("*.warc.gz"))
    assert second["revisit_of"] == first["id"]
    assert second["sha256"] == first["sha256"]
    assert second["text_sha256"] == first["text_sha256"]
    # new file = warcinfo + revisit + request; a copy of the page would be more
    assert size_after - size_before < 2500
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        latest = closest_capture(archive.sessions, server + "/same")
        assert latest.is_revisit
        revisit = read_record_at(config.warc_dir, latest.warc_file or "", latest.warc_offset or 0)
        assert revisit.type == "revisit"
        assert revisit.headers["WARC-Profile"].endswith("/revisit/identical-payload-digest")
        assert retrieve.capture_payload(config.warc_dir, latest) == fetch_raw(server + "/same")
    finally:
        archive.close()
    warcio_check(home)


def test_changed_chrome_keeps_text_hash(server: str, home: Path) -> None:
    config = make_config(home)
    first = capture_urls(config, [server + "/chrome"])[0]
    second = capture_urls(config, [server + "/chrome"])[0]
    assert first["sha256"] != second["sha256"]
    assert first["text_sha256"] == second["text_sha256"]


def test_private_targets_refused_by_default(server: str, home: Path) -> None:
    config = make_config(home, allow_private=False)
    res = capture_urls(config, [server + "/page/private"])[0]
    assert (res["outcome"], res["reason"]) == ("failed", "private-address")
    assert "127.0.0.1" in res["reason_detail"]


def test_proxy_is_used_and_redirect_to_private_is_refused(
        server: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", server)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    config = make_config(home, allow_private=False)
    results = {r["url"]: r for r in capture_urls(config, ["http://www.news-site.test/page/proxied",
                                                           "http://public-site.test/to-private"])}
    ok = results["http://www.news-site.test/page/proxied"]
    bad = results["http://public-site.test/to-private"]
    # made-up host names resolve nowhere: they were fetched through the proxy, unresolved
    assert ok["outcome"] == "captured" and ok["title"] == "Article proxied"
    assert (bad["outcome"], bad["reason"]) == ("failed", "private-address")
    assert [h["status"] for h in bad["redirect_chain"]] == [302]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        # canonical lookups: scheme, www., tracking parameters, fragment, trailing slash
        found = snapshots(archive.sessions,
                          "https://news-site.test/page/proxied/?utm_source=x&fbclid=y#top")
    finally:
        archive.close()
    assert [s.id for s in found] == [ok["id"]]


def test_crawl_delay_is_honored(server: str, home: Path) -> None:
    local = server.replace("127.0.0.1", "localhost")
    config = make_config(home, per_host_concurrency=1)
    results = capture_urls(config, [f"{local}/page/d{i}" for i in range(3)])
    from collector.inputs import parse_time

    times = sorted(parse_time(r["captured_at"]) for r in results)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(r["outcome"] == "captured" for r in results)
    assert min(gaps) >= 0.45, gaps  # Crawl-delay: 1, randomized by Scrapy to 0.5-1.5 s


def test_ignore_robots_is_recorded(server: str, home: Path) -> None:
    config = make_config(home, obey_robots=False)
    res = capture_urls(config, [server + "/robots-blocked/y"])[0]
    assert res["outcome"] == "captured" and res["ignore_robots"] is True


def test_503_with_retry_after_is_retried(server: str, home: Path) -> None:
    config = make_config(home, retry_times=2)
    res = capture_urls(config, [server + "/retry-after"])[0]
    assert res["outcome"] == "captured" and res["http_status"] == 200
    assert [h["status"] for h in res["redirect_chain"]] == [503, 200]


def test_extraction_timeout_is_recorded_and_capture_kept(server: str, home: Path) -> None:
    config = make_config(home, extract_timeout=0.05)
    res = capture_urls(config, [server + "/heavy"])[0]
    assert res["outcome"] == "captured" and res["sha256"]
    assert res["extraction"] == "timeout"
    assert res["text_sha256"] is None


def test_redirect_to_file_scheme_is_never_followed(server: str, home: Path) -> None:
    config = make_config(home)
    res = capture_urls(config, [server + "/to-file"])[0]
    assert (res["outcome"], res["reason"]) == ("failed", "unsupported-scheme")
    assert "file:///etc/passwd" in res["reason_detail"]
    assert res["final_url"] != "file:///etc/passwd"
    assert [h["url"] for h in res["redirect_chain"]] == [server + "/to-file"]
    for path in config.warc_dir.glob("*.warc.gz"):
        assert b"root:x:0:0" not in gzip.decompress(path.read_bytes())


def test_scheme_less_url_on_an_http_only_host_falls_back_to_http(server: str, home: Path) -> None:
    config = make_config(home)
    given = server.removeprefix("http://") + "/page/x"  # 127.0.0.1:PORT/page/x: https is tried first
    results = capture_urls(config, [given, server.removeprefix("http://") + "/status/404"])
    assert len(results) == 2  # one result per input: the final attempt's
    res = next(r for r in results if r["url"].endswith("/page/x"))
    assert res["url"] == server + "/page/x"
    assert (res["outcome"], res["http_status"], res["title"]) == ("captured", 200, "Article x")
    first = res["fallback_from"]
    assert first["url"] == "https://" + given
    assert (first["outcome"], first["reason"]) == ("failed", "tls-error")
    assert first["reason_detail"].startswith("TLS handshake failed: ")
    assert "Failure" not in first["reason_detail"]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        rows = snapshots(archive.sessions, server + "/page/x")
    finally:
        archive.close()
    # both attempts are rows; the https failure stays recorded
    assert [(r.url, r.outcome, r.reason) for r in rows] == [
        ("https://" + given, "failed", "tls-error"), (server + "/page/x", "captured", None)]
    assert [r.id for r in rows] == [first["id"], res["id"]] or first["id"] is None


@pytest.mark.parametrize(("given", "fallback"), [
    ("example.org/a", "http://example.org/a"), ("  localhost:8080/x ", "http://localhost:8080/x"),
    ("https://example.org/a", None), ("http://example.org/a", None), ("HTTPS://example.org/", None),
])
def test_only_a_scheme_we_chose_falls_back(given: str, fallback: str | None) -> None:
    assert http_fallback(given, check_url(given)) == fallback


def test_capture_into_postgresql(server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    first = capture_urls(config, [server + "/same", server + "/status/404"])
    again = capture_urls(config, [server + "/same"])[0]
    assert {r["outcome"] for r in first} == {"captured"}
    assert again["revisit_of"] == next(r["id"] for r in first if r["url"].endswith("/same"))
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        assert verify_archive(archive.sessions, config.warc_dir).ok
        assert len(snapshots(archive.sessions, server + "/same")) == 2
    finally:
        archive.close()


def test_meta_refresh_to_javascript_or_mailto_is_ignored(server: str, home: Path) -> None:
    targets = [server + "/refresh-to?to=javascript:alert(1)",
               server + "/refresh-to?to=mailto:editor@example.com"]
    results = {r["url"]: r for r in capture_urls(make_config(home), targets)}
    for url in targets:  # the page is the capture; its refresh goes nowhere
        res = results[url]
        assert (res["outcome"], res["reason"]) == ("captured", None), res
        assert res["http_status"] == 200 and res["final_url"] == url


NO_MEDIA = """
import json, sys
from pathlib import Path
from collector.capture.run import stream_captures
from tests.conftest import make_config

before = set(sys.modules)  # the tests' own helpers load SQLAlchemy: only what the capture loads counts
results = []
stream_captures(make_config(Path(sys.argv[1])), [sys.argv[2]], on_result=results.append)
print(json.dumps([[r["outcome"] for r in results],
                  [m for m in sys.argv[3:] if m in sys.modules and m not in before]]))
"""


def test_a_capture_without_media_loads_no_downloader(server: str, home: Path) -> None:
    """The media of a run are chosen without the downloader's modules (collector.capture.mediatargets):
    a page that embeds none loads neither it nor storage and SQLAlchemy in the caller (~0.5 s of a
    one-URL capture)."""
    heavy = ["collector.capture.media", "spiders.guardproxy", "storage.archive",
             "sqlalchemy", "yt_dlp"]
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", NO_MEDIA, str(home), server + "/page/a", *heavy],
                          capture_output=True, text=True, cwd=root, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["captured"], []]


LEAVE = """
import logging, sys
from collector.capture.run import leave

logging.basicConfig(stream=sys.stderr, format="%(message)s")
sys.stdout.write("the result line")  # block-buffered: stdout is a pipe
logging.getLogger("test").warning("the last log line")
leave()
print("never")
"""


def test_a_crawl_process_that_leaves_early_loses_no_output() -> None:
    """``leave`` (the end of a crawl process that is done) skips Python's teardown, not its streams."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", LEAVE], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "the result line" and done.stderr == "the last log line\n"
