"""spiders.tls's pure parts: chain verification and its reasons, the TLS record, proxy URLs, and the
tls_verify middleware on hand-built requests and responses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.x509.verification import Store
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from spiders.outcomes import REASONS, classify_exception
from spiders.proxyurl import public_proxy_url
from spiders.recording import HOPS_KEY
from spiders.tls import (
    TLS_KEY,
    Handshake,
    HandshakeLog,
    TLSVerifyMiddleware,
    UntrustedCertificateError,
    describe_tls,
    trust_store,
    verify_chain,
)
from tests.collector.capture.tls_servers import Issued, issue

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> Issued:
    return issue("Test Root", ca=True)


@pytest.fixture(scope="module")
def store(ca: Issued) -> Store:
    return Store([ca.cert])


def test_a_leaf_the_trusted_ca_issued_verifies_for_its_names(ca: Issued, store: Store) -> None:
    leaf = issue("localhost", issuer=ca, hosts=("localhost", "127.0.0.1"))
    assert verify_chain([leaf.cert], "localhost", store, NOW) is None
    assert verify_chain([leaf.cert], "LOCALHOST.", store, NOW) is None
    assert verify_chain([leaf.cert], "127.0.0.1", store, NOW) is None
    # a root the server sends along changes nothing
    assert verify_chain([leaf.cert, ca.cert], "localhost", store, NOW) is None


def test_an_intermediate_sent_by_the_server_completes_the_chain(ca: Issued, store: Store) -> None:
    intermediate = issue("Test Intermediate", issuer=ca, ca=True)
    leaf = issue("news.example", issuer=intermediate, hosts=("news.example",))
    assert verify_chain([leaf.cert, intermediate.cert], "news.example", store, NOW) is None
    missing = verify_chain([leaf.cert], "news.example", store, NOW)
    assert missing == "no chain to a trusted root (issuer CN=Test Intermediate,O=collector tests)"


@pytest.mark.parametrize(("case", "reason"), [
    ("self-signed", "self-signed certificate"),
    ("other host", "certificate is not valid for other.example"),
    ("expired", "certificate expired on "),
    ("not yet valid", "certificate not valid before "),
    ("unknown CA", "no chain to a trusted root (issuer CN=Another Root,O=collector tests)"),
])
def test_why_a_chain_is_untrusted(case: str, reason: str, ca: Issued, store: Store) -> None:
    leaf = {"self-signed": lambda: issue("localhost"),
            "other host": lambda: issue("localhost", issuer=ca),
            "expired": lambda: issue("localhost", issuer=ca, days=(-30, -1)),
            "not yet valid": lambda: issue("localhost", issuer=ca, days=(1, 30)),
            "unknown CA": lambda: issue("localhost", issuer=issue("Another Root", ca=True))}[case]()
    host = "other.example" if case == "other host" else "localhost"
    problem = verify_chain([leaf.cert], host, store, NOW)
    assert problem is not None and problem.startswith(reason), problem


def test_the_tls_record_of_a_handshake(ca: Issued, store: Store) -> None:
    leaf = issue("localhost", issuer=ca)
    handshake = Handshake((leaf.der, ca.der), "TLSv1.3", "TLS_AES_256_GCM_SHA384")
    record = describe_tls(handshake, "localhost", store, NOW)
    assert record == {
        "verified": True, "detail": "verified", "fingerprint": hashlib.sha256(leaf.der).hexdigest(),
        "subject": "CN=localhost,O=collector tests", "issuer": "CN=Test Root,O=collector tests",
        "version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "chain_length": 2}
    later = describe_tls(handshake, "localhost", store, NOW + timedelta(days=60))
    assert later["verified"] is False and later["detail"].startswith("untrusted: certificate expired on")
    garbage = describe_tls(Handshake((b"not a certificate",)), "localhost", store, NOW)
    assert garbage["verified"] is False and garbage["detail"].startswith("untrusted: unreadable")


def test_the_default_trust_store_does_not_trust_a_test_ca(ca: Issued) -> None:
    leaf = issue("localhost", issuer=ca)
    assert verify_chain([leaf.cert], "localhost", trust_store(), NOW) is not None


def test_the_handshake_log_keeps_the_latest_and_those_of_live_connections(ca: Issued) -> None:
    log = HandshakeLog(size=2)
    shakes = [Handshake((issue(f"h{i}", issuer=ca).der,)) for i in range(4)]
    for shake in shakes:
        log.add(shake)
    assert [log.get(s.fingerprint) for s in shakes[2:]] == shakes[2:]
    # the oldest two are no longer among the latest: found while something (a kept-alive
    # connection) still holds them, gone once nothing does
    held, fingerprint = shakes[0], shakes[1].fingerprint
    del shakes[:2]
    assert log.get(held.fingerprint) is held
    assert log.get(fingerprint) is None


@pytest.mark.parametrize(("given", "recorded"), [
    ("http://reporter:s3cret@proxy.example:3128", "http://proxy.example:3128"),
    (b"https://proxy.example:8443", "https://proxy.example:8443"),
    ("proxy.example:3128", "http://proxy.example:3128"),
    ("http://user@[::1]:3128/", "http://[::1]:3128/"),
    (None, None), ("", None),
])
def test_proxy_urls_are_recorded_without_credentials(given: str | bytes | None, recorded: str | None) -> None:
    assert public_proxy_url(given) == recorded


def test_untrusted_is_a_reason_of_its_own() -> None:
    assert classify_exception(UntrustedCertificateError("certificate not trusted: self-signed"))[0] \
        == "tls-untrusted"
    assert "tls-untrusted" in REASONS


def _response(request: Request) -> HtmlResponse:
    return HtmlResponse(request.url, body=b"<html></html>", request=request)


def test_tls_verify_refuses_only_untrusted_capture_responses() -> None:
    with pytest.raises(NotConfigured):
        TLSVerifyMiddleware.from_crawler(get_crawler(settings_dict={}))
    middleware = TLSVerifyMiddleware.from_crawler(get_crawler(settings_dict={"COLLECTOR_TLS_VERIFY": True}))
    untrusted = {"verified": False, "detail": "untrusted: self-signed certificate"}
    capture = Request("https://a.example/", meta={HOPS_KEY: [], TLS_KEY: untrusted})
    with pytest.raises(UntrustedCertificateError, match="self-signed certificate"):
        middleware.process_response(capture, _response(capture))
    robots = Request("https://a.example/robots.txt", meta={TLS_KEY: untrusted})  # not a capture
    assert middleware.process_response(robots, _response(robots)).url == robots.url
    trusted = Request("https://a.example/", meta={HOPS_KEY: [], TLS_KEY: {"verified": True}})
    plain = Request("http://a.example/", meta={HOPS_KEY: [], TLS_KEY: None})
    for request in (trusted, plain):
        assert middleware.process_response(request, _response(request)).url == request.url
