"""The SSRF guard's pure parts: host spellings as a resolver or proxy reads them."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import Response

from spiders.safety import (
    host_address,
    is_private_name,
    is_public_address,
    normalize_host,
    redirect_target,
)

LOOPBACK_SPELLINGS = ["127.0.0.1", "2130706433", "0x7f.1", "0X7F.0.0.1", "127.1", "0177.0.0.1",
                      "017700000001", "0x7f000001", "127.0.0.1.", "%31%32%37.0.0.1",
                      "\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127\u30020\u30020\u30021"]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_inet_aton_spelling_of_loopback_is_read_as_127_0_0_1(host: str) -> None:
    assert normalize_host(host) == "127.0.0.1"
    assert not is_public_address(host)


@pytest.mark.parametrize("host", ["[::1]", "::1", "[::ffff:127.0.0.1]", "::FFFF:7f00:1",
                                  "[0:0:0:0:0:0:0:1]", "::127.0.0.1", "64:ff9b::7f00:1",
                                  "64:ff9b::a00:1", "2002:7f00:1::", "64:ff9b:1::1", "fe80::1%25eth0",
                                  "0", "0.0.0.0", "0x0a.1", "012.0.0.1", "3232235777"])
def test_ipv6_forms_and_embedded_ipv4_are_not_public(host: str) -> None:
    assert host_address(host) is not None
    assert not is_public_address(host)


@pytest.mark.parametrize(("host", "address"), [("0x08080808", "8.8.8.8"), ("134744072", "8.8.8.8"),
                                               ("[::ffff:8.8.8.8]", "::ffff:808:808"),
                                               ("[2606:2800:220:1::1]", "2606:2800:220:1::1")])
def test_public_addresses_in_any_spelling_are_public(host: str, address: str) -> None:
    assert str(host_address(host)) == address
    assert is_public_address(host)


@pytest.mark.parametrize("host", ["www.news-site.test", "public-site.test.", "1.2.3.4.5", "08.0.0.1",
                                  "0x100.1", "256.1.1.1.", "example.123", "xn--bcher-kva.example"])
def test_names_are_not_addresses(host: str) -> None:
    assert host_address(host) is None


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "localhost..",
                                  "app.localhost", "ip6-localhost", "localhost.localdomain",
                                  "printer.local", "nas.home.arpa", "db.internal",
                                  "\u24dbocalhost"])
def test_private_names(host: str) -> None:
    assert is_private_name(host)


@pytest.mark.parametrize("host", ["www.news-site.test", "localhost.example.org", "mylocalhost",
                                  "internal.example.org", "example.local.org"])
def test_public_names(host: str) -> None:
    assert not is_private_name(host)


def test_normalize_keeps_names_lower_case_ascii() -> None:
    assert normalize_host("B\u00fccher.Example.") == "xn--bcher-kva.example"


@pytest.mark.parametrize(("location", "target"), [
    (b"gopher://127.0.0.1/x", "gopher://127.0.0.1/x"),
    (b"//other.test/y", "http://other.test/y"),
    (b"/z", "http://site.test/z"),
])
def test_redirect_target_as_scrapy_computes_it(location: bytes, target: str) -> None:
    request = Request("http://site.test/a")
    response = Response("http://site.test/a", status=302, headers={"Location": location})
    assert redirect_target(request, response) == target
    assert redirect_target(request, Response("http://site.test/a", status=200,
                                             headers={"Location": location})) is None
