"""Pure parts of the spider components: address checks, reason codes, Retry-After."""

from __future__ import annotations

from pathlib import Path

import pytest
from OpenSSL import SSL
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from twisted.internet.error import ConnectionLost, DNSLookupError
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived

from spiders.outcomes import REASONS, classify_exception
from spiders.politeness import retry_after_seconds
from spiders.safety import PrivateAddressError, UnsupportedSchemeError, is_public_address


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
                                     "169.254.169.254", "::1", "fe80::1", "fc00::1", "0.0.0.0",
                                     "224.0.0.1", "::ffff:127.0.0.1", "100.64.0.1", "240.0.0.1"])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(("exc", "reason"), [
    (DNSLookupError("no such host"), "dns-failure"),
    (CannotResolveHostError("x.invalid"), "dns-failure"),
    (DownloadTimeoutError("took longer than 30 seconds"), "timeout"),
    (IgnoreRequest("Forbidden by robots.txt"), "robots-txt"),
    (IgnoreRequest("max redirections reached"), "too-many-redirects"),
    (PrivateAddressError("refused: 10.0.0.1"), "private-address"),
    (UnsupportedSchemeError("refused: http://a.test/ redirects to gopher://b.test/"),
     "unsupported-scheme"),
])
def test_classify_exception(exc: BaseException, reason: str) -> None:
    assert classify_exception(exc)[0] == reason


def test_every_reason_is_listed_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("Failure reasons:"):]
    assert [code for code in REASONS if f"`{code}`" not in listed] == []


def wrapped(*errors: BaseException) -> DownloadFailedError:
    """What Scrapy raises for a failed response: its message is the repr of Twisted Failures."""
    inner = ResponseNeverReceived([Failure(e) for e in errors])
    outer = DownloadFailedError(str(inner))
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(("exc", "reason", "detail"), [
    (wrapped(SSL.Error([("SSL routines", "", "wrong version number")])), "tls-error",
     "TLS handshake failed: wrong version number"),
    (wrapped(ConnectionLost(), ConnectionLost()), "connection-lost",
     "connection lost: Connection to the other side was lost in a non-clean fashion."),
    (DownloadTimeoutError("Getting http://a.test/ took longer than 2.0 seconds."), "timeout",
     "timed out: Getting http://a.test/ took longer than 2.0 seconds."),
])
def test_reason_detail_is_a_human_message(exc: BaseException, reason: str, detail: str) -> None:
    assert "<twisted" in str(exc) or reason == "timeout"
    assert classify_exception(exc) == (reason, detail)


def test_retry_after() -> None:
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("nonsense") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now_ts=1445412470.0) == 10.0


def test_backoff_doubles_and_honors_retry_after() -> None:
    from spiders.retry import backoff_seconds

    assert [backoff_seconds(n, 1.0, 30.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(10, 1.0, 30.0) == 30.0
    assert backoff_seconds(1, 1.0, 30.0, retry_after=12.0) == 12.0
    assert backoff_seconds(1, 1.0, 30.0, retry_after=3600.0) == 30.0
