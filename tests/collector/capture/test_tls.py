"""TLS evidence per capture (issue 13): real https servers with certificates made here, real crawls.

The verified case exists offline through a test CA trusted with ``tls_ca_file``; the other cases are a
self-signed certificate (what a man-in-the-middle proxy without a trusted CA shows) and ``tls_verify``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector.capture.run import capture_urls
from storage.archive import Archive
from storage.queries import snapshots
from tests.conftest import make_config, warcio_check

from .tls_servers import Issued, connect_proxy, https_server, issue


@pytest.fixture(scope="module")
def ca() -> Issued:
    """A test CA, trusted only where a test says so (``tls_ca_file``)."""
    return issue("collector test CA", ca=True)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Issued]]:
    """An https server whose certificate is self-signed: its URL and the certificate."""
    cert = issue("self-signed.test")
    with https_server(cert, tmp_path_factory.mktemp("self-signed")) as url:
        yield url, cert


@pytest.fixture(scope="module")
def ca_signed(ca: Issued, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Issued]]:
    """An https server whose certificate the test CA issued (the CA is not sent)."""
    cert = issue("localhost", issuer=ca)
    with https_server(cert, tmp_path_factory.mktemp("ca-signed")) as url:
        yield url, cert


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(key, raising=False)


def ca_file(ca: Issued, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.pem())
    return path


def rows(home: Path, db_url: str, url: str) -> list[Any]:
    archive = Archive.open(db_url, home / "warcs")
    try:
        return snapshots(archive.sessions, url)
    finally:
        archive.close()


def warc_records(home: Path) -> list[tuple[str, dict[str, str], bytes]]:
    """(type, headers, content) of every record in the home's WARC files."""
    out = []
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                out.append((record.rec_type, dict(record.rec_headers.headers),
                            record.content_stream().read()))
    return out


def capture_metadata(home: Path) -> list[dict[str, Any]]:
    """The contents of collector's per-capture metadata records."""
    return [json.loads(content) for kind, headers, content in warc_records(home)
            if kind == "metadata" and headers["WARC-Target-URI"].startswith("urn:")
            and b'"outcome"' in content and b'"extracted-text"' not in content]


def warcinfo(home: Path) -> str:
    return "".join(content.decode() for kind, _, content in warc_records(home) if kind == "warcinfo")


def test_self_signed_is_recorded_untrusted_with_its_fingerprint(
        self_signed: tuple[str, Issued], home: Path, db_url: str, no_proxy_env: None) -> None:
    url, cert = self_signed
    urls = [url + "/a", url + "/a2", url + "/a3"]
    results = {r["url"]: r for r in capture_urls(make_config(home, database_url=db_url), urls)}
    result = results[url + "/a"]
    # every response has its record, over a new connection or a kept-alive one
    assert [results[u]["tls_fingerprint"] for u in urls] == [hashlib.sha256(cert.der).hexdigest()] * 3
    # recorded, not refused: the page is archived (tls_verify is off by default)
    assert result["outcome"] == "captured" and result["http_status"] == 200
    assert result["tls_verified"] is False
    assert result["tls_detail"] == "untrusted: self-signed certificate"
    assert result["tls_fingerprint"] == hashlib.sha256(cert.der).hexdigest()
    assert result["tls_issuer"] == "CN=self-signed.test,O=collector tests"
    assert result["proxy"] is None
    [row] = rows(home, db_url, url + "/a")
    assert (row.tls_verified, row.tls_fingerprint, row.tls_detail) == (
        False, hashlib.sha256(cert.der).hexdigest(), "untrusted: self-signed certificate")
    [meta] = [m for m in capture_metadata(home) if m["url"] == url + "/a"]
    assert meta["tls"]["fingerprint"] == row.tls_fingerprint
    assert meta["tls"]["subject"] == "CN=self-signed.test,O=collector tests"
    assert meta["tls"]["version"].startswith("TLSv1") and meta["tls"]["cipher"]
    assert "tls-verify: record-only" in warcinfo(home)
    warcio_check(home)


def test_a_chain_to_a_trusted_ca_is_verified(
        ca: Issued, ca_signed: tuple[str, Issued], home: Path, tmp_path: Path, db_url: str,
        no_proxy_env: None) -> None:
    url, cert = ca_signed
    config = make_config(home, database_url=db_url, tls_ca_file=ca_file(ca, tmp_path))
    [result] = capture_urls(config, [url + "/b"])
    assert result["outcome"] == "captured"
    assert (result["tls_verified"], result["tls_detail"]) == (True, "verified")
    assert result["tls_fingerprint"] == hashlib.sha256(cert.der).hexdigest()
    assert result["tls_issuer"] == "CN=collector test CA,O=collector tests"
    # without the CA the same server is untrusted: the CA file is what made the difference
    [untrusted] = capture_urls(make_config(home, database_url=db_url), [url + "/c"])
    assert untrusted["tls_verified"] is False
    assert untrusted["tls_detail"].startswith("untrusted: no chain to a trusted root")


def test_tls_verify_fails_the_untrusted_attempt_and_the_batch_goes_on(
        ca: Issued, self_signed: tuple[str, Issued], ca_signed: tuple[str, Issued], home: Path,
        tmp_path: Path, server: str, db_url: str, no_proxy_env: None) -> None:
    bad, cert = self_signed
    good, _ = ca_signed
    config = make_config(home, database_url=db_url, tls_verify=True, tls_ca_file=ca_file(ca, tmp_path))
    results = {r["url"]: r for r in capture_urls(config, [bad + "/d", good + "/e", server + "/page/tls"])}
    refused = results[bad + "/d"]
    assert (refused["outcome"], refused["reason"]) == ("failed", "tls-untrusted")
    assert "self-signed certificate" in refused["reason_detail"]
    assert refused["tls_verified"] is False
    assert refused["tls_fingerprint"] == hashlib.sha256(cert.der).hexdigest()
    assert results[good + "/e"]["outcome"] == "captured"
    assert results[good + "/e"]["tls_verified"] is True
    plain = results[server + "/page/tls"]
    assert plain["outcome"] == "captured" and plain["tls_verified"] is None
    # what the untrusted server sent is archived as evidence, and the row points at it
    [row] = rows(home, db_url, bad + "/d")
    assert row.outcome == "failed" and row.http_status == 200 and row.warc_file
    responses = [h for kind, h, _ in warc_records(home)
                 if kind == "response" and h["WARC-Target-URI"] == bad + "/d"]
    assert len(responses) == 1
    assert "tls-verify: refuse-untrusted" in warcinfo(home)
    warcio_check(home)


def test_a_capture_through_a_connect_proxy_records_the_proxy(
        self_signed: tuple[str, Issued], home: Path, db_url: str, no_proxy_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, cert = self_signed
    with connect_proxy() as proxy:
        port = proxy.server_address[1]
        monkeypatch.setenv("https_proxy", f"http://reporter:s3cret@127.0.0.1:{port}")
        [result] = capture_urls(make_config(home, database_url=db_url), [url + "/f"])
    assert proxy.targets == [url.removeprefix("https://")]  # the fetch went through the tunnel
    assert result["outcome"] == "captured"
    assert result["proxy"] == f"http://127.0.0.1:{port}"  # credentials are never recorded
    # the proxy tunnels: the certificate seen is still the origin's
    assert result["tls_fingerprint"] == hashlib.sha256(cert.der).hexdigest()
    [row] = rows(home, db_url, url + "/f")
    assert row.proxy == f"http://127.0.0.1:{port}"
    [meta] = capture_metadata(home)
    assert meta["proxy"] == f"http://127.0.0.1:{port}"
    info = warcinfo(home)
    assert f"https-proxy: http://127.0.0.1:{port}" in info
    assert "s3cret" not in info and all(b"s3cret" not in c for _, _, c in warc_records(home))


def test_the_cli_flag_and_the_json_of_capture_get_and_snapshots(
        self_signed: tuple[str, Issued], home: Path) -> None:
    url, cert = self_signed
    fingerprint = hashlib.sha256(cert.der).hexdigest()
    capture = run_cli(home, "capture", url + "/g", "--allow-private", "--tls-verify", "--json")
    assert capture.returncode == 1, capture.stderr  # a URL was not captured
    [line] = json_lines(capture)
    assert (line["outcome"], line["reason"], line["tls_fingerprint"]) == (
        "failed", "tls-untrusted", fingerprint)
    # recorded only without the flag (the default): captured, and shown by get and snapshots
    [line] = json_lines(run_cli(home, "capture", url + "/g", "--allow-private", "--json"))
    assert (line["outcome"], line["tls_verified"]) == ("captured", False)
    [got] = json_lines(run_cli(home, "get", url + "/g", "--json"))
    listed = json_lines(run_cli(home, "snapshots", url + "/g", "--json"))
    assert [r["outcome"] for r in listed] == ["failed", "captured"]
    for shown in (got, *listed):
        assert {k: shown[k] for k in ("tls_verified", "tls_fingerprint", "tls_detail", "proxy")} == {
            "tls_verified": False, "tls_fingerprint": fingerprint,
            "tls_detail": "untrusted: self-signed certificate", "proxy": None}


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``collector ARGS`` in a subprocess on ``home``, with no proxy and no COLLECTOR_ settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COLLECTOR_") and not k.lower().endswith("_proxy")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0"})
    return subprocess.run([sys.executable, "-m", "collector", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def json_lines(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
