"""The SSRF guard in real crawls: every spelling of a loopback address, directly and through a proxy,
and every scheme but http(s), on the first hop and on redirects."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector.capture.run import capture_urls
from storage.archive import Archive
from storage.queries import snapshots
from tests.conftest import make_config
from tests.server import article

pytestmark = pytest.mark.slow  # the hostile web

# spellings a resolver or proxy reads as this machine
FORMS = ["2130706433", "0x7f.1", "127.1", "0177.0.0.1", "localhost.", "LOCALHOST", "app.localhost",
         "[::ffff:127.0.0.1]", "[::1]", "%31%32%37.0.0.1"]
SECRET = article("secret")


def secret_url(server: str, form: str) -> str:
    return f"http://{form}:{urlsplit(server).port}/page/secret"


def via_redirect(origin: str, target: str) -> str:
    return f"{origin}/to?url={quote(target, safe='')}"


@pytest.fixture
def proxied(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test server as the crawl's HTTP proxy (it answers for any host name)."""
    monkeypatch.setenv("http_proxy", server)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    return server


def assert_never_archived(config: Any, targets: list[str]) -> None:
    """No WARC record holds the private page, and no row is a capture of it (a failed attempt at it
    is a row, without a body)."""
    for path in config.warc_dir.glob("*.warc.gz"):
        assert b"Article secret" not in gzip.decompress(path.read_bytes())
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type in ("request", "response"):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    assert "/page/secret" not in uri, uri
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        for target in targets:
            rows = snapshots(archive.sessions, target)
            assert {(r.outcome, r.reason, r.sha256) for r in rows} <= {
                ("failed", "private-address", None)}, target
    finally:
        archive.close()


def test_redirect_to_any_spelling_of_loopback_through_a_proxy_is_refused(
        proxied: str, home: Path) -> None:
    config = make_config(home, allow_private=False)
    targets = [secret_url(proxied, form) for form in FORMS]
    urls = [via_redirect("http://public-site.test", t) for t in targets]
    results = {r["url"]: r for r in capture_urls(config, urls)}
    for url in urls:
        res = results[url]
        assert (res["outcome"], res["reason"]) == ("failed", "private-address"), res
        assert res["reason_detail"].startswith("refused: ")
        assert [h["status"] for h in res["redirect_chain"]] == [302]
        assert res["sha256"] != hashlib.sha256(SECRET).hexdigest()
    assert_never_archived(config, targets)


def test_any_spelling_of_loopback_is_refused_directly(server: str, home: Path) -> None:
    """Without a proxy: refused before any connection, private names without a DNS lookup."""
    config = make_config(home, allow_private=False)
    targets = [secret_url(server, form) for form in FORMS]
    results = {r["url"]: r for r in capture_urls(config, targets)}
    for target in targets:
        res = results[target]
        assert (res["outcome"], res["reason"]) == ("failed", "private-address"), res
        assert res["redirect_chain"] == []
    assert_never_archived(config, targets)


def test_allow_private_follows_every_spelling_through_a_proxy(proxied: str, home: Path) -> None:
    config = make_config(home, allow_private=True)
    targets = [secret_url(proxied, form) for form in FORMS]
    urls = [via_redirect("http://public-site.test", t) for t in targets]
    results = capture_urls(config, urls)
    assert {(r["outcome"], r["http_status"], r["title"]) for r in results} == {
        ("captured", 200, "Article secret")}


SCHEME_URLS = ["gopher://127.0.0.1:70/_GET%20/", "file:///etc/passwd", "ftp://127.0.0.1/x",
               "dict://127.0.0.1:11211/stat", "javascript:alert(1)"]


@pytest.mark.parametrize(("mode", "allow_private"), [("proxy", False), ("proxy", True),
                                                     ("direct", True)])
def test_redirect_to_another_scheme_fails_in_every_mode(
        server: str, home: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
        allow_private: bool) -> None:
    for key in ("http_proxy", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(key, raising=False)
    if mode == "proxy":
        monkeypatch.setenv("http_proxy", server)
    origin = "http://public-site.test" if mode == "proxy" else server
    config = make_config(home, allow_private=allow_private)
    urls = {via_redirect(origin, target): target for target in SCHEME_URLS}
    for res in capture_urls(config, list(urls)):
        scheme = urls[res["url"]].split(":")[0]
        assert (res["outcome"], res["reason"]) == ("failed", "unsupported-scheme"), res
        assert f"unsupported scheme '{scheme}:'" in res["reason_detail"]
        assert [h["status"] for h in res["redirect_chain"]] == [302]
        assert res["final_url"] == res["url"]  # the redirect, kept as received, is the last hop
