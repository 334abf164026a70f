"""SSRF guard: refuse targets on loopback, private, link-local, multicast or reserved addresses.

Runs as a downloader middleware after the proxy middleware, so every hop of a redirect chain is
checked. Host names are resolved through the crawler's caching resolver, the same cache the
connection then uses. When a proxy carries the request the target is not resolved here (the proxy
resolves it); IP-literal targets are still checked.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["PrivateAddressError", "PrivateAddressMiddleware", "is_public_address"]


class PrivateAddressError(IgnoreRequest):
    """The target resolves to an address collector refuses to fetch by default."""


def is_public_address(address: str) -> bool:
    """True when ``address`` is a globally routable unicast IP address."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class PrivateAddressMiddleware:
    """Downloader middleware refusing non-public targets unless ``COLLECTOR_ALLOW_PRIVATE``."""

    def __init__(self, crawler: Crawler) -> None:
        if crawler.settings.getbool("COLLECTOR_ALLOW_PRIVATE"):
            raise NotConfigured("COLLECTOR_ALLOW_PRIVATE is set: private targets are allowed")
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        """Build from the crawler."""
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Raise PrivateAddressError when the request's target is not a public address."""
        host = urlparse_cached(request).hostname or ""
        if _is_ip_literal(host):
            address = host
        elif request.meta.get("proxy"):
            return
        else:
            from twisted.internet import reactor  # here: importing it installs the reactor

            address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
        if not is_public_address(address):
            raise PrivateAddressError(
                f"refused: {host} resolves to non-public address {address} "
                "(use --allow-private to allow)")
