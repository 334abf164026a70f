"""The http/https download handler: Scrapy's, keeping enough idle connections for a proxy and
recording each https response's TLS evidence.

Scrapy keeps at most CONCURRENT_REQUESTS_PER_DOMAIN idle connections per pool key. Through an HTTP
proxy every request shares one key (the proxy's), so with 32 requests in flight and 2 kept, most
requests open a fresh TCP connection to the proxy. Keeping up to CONCURRENT_REQUESTS idle
connections per key changes nothing for direct fetches (a host never has more connections than its
own concurrency) and lets proxied crawls reuse theirs.

Each response downloaded gets ``request.meta[spiders.tls.TLS_KEY]``: its TLS record (see
``spiders.tls``: chain verified or not, leaf fingerprint, subject, issuer, version, cipher), or None
over plain http. Nothing is refused here.

A body that passes DOWNLOAD_MAXSIZE without a Content-Length announcing it (or a chunked body without
end) is cut off by Scrapy with a bare ``CancelledError``; it is raised here as ``BodyTooLargeError``
(outcome ``too-large``), as a body whose Content-Length is over the maximum is.

Its connections parse response headers under caps (``spiders.headercaps``): the settings
``COLLECTOR_MAX_HEADER_BYTES`` and ``COLLECTOR_MAX_HEADERS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import DownloadCancelledError
from scrapy.utils.httpobj import urlparse_cached

from spiders.headercaps import BoundedClientFactory, HeaderLimits
from spiders.tls import (
    TLS_KEY,
    HandshakeLog,
    RecordingTLSPolicy,
    describe_tls,
    handshake_of,
    now_utc,
    trust_store,
)

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.web.iweb import IPolicyForHTTPS

__all__ = ["BodyTooLargeError", "PooledHTTPDownloadHandler"]


class BodyTooLargeError(DownloadCancelledError):
    """A body passed the maximum size while it was read (no Content-Length said so in advance)."""


class PooledHTTPDownloadHandler(HTTP11DownloadHandler):
    """HTTP11DownloadHandler whose connection pool keeps CONCURRENT_REQUESTS idle connections and
    whose responses carry their TLS record (COLLECTOR_TLS_CA_FILE: extra trusted CAs, PEM)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool.maxPersistentPerHost = max(
            self._pool.maxPersistentPerHost, crawler.settings.getint("CONCURRENT_REQUESTS"))
        self._handshakes = HandshakeLog()
        self._contextFactory = cast("IPolicyForHTTPS",
                                    RecordingTLSPolicy(self._contextFactory, self._handshakes))
        self._ca_file: str | None = crawler.settings.get("COLLECTOR_TLS_CA_FILE") or None
        self._clock: Any = crawler.settings.get("COLLECTOR_CLOCK") or now_utc
        # (fingerprint, version, cipher, host) -> TLS record: a kept-alive connection is verified once
        self._verified: dict[tuple[str, str | None, str | None, str], dict[str, Any]] = {}
        default = HeaderLimits()
        self._pool._factory = BoundedClientFactory.with_limits(HeaderLimits(
            max_bytes=crawler.settings.getint("COLLECTOR_MAX_HEADER_BYTES", default.max_bytes),
            max_count=crawler.settings.getint("COLLECTOR_MAX_HEADERS", default.max_count)))

    async def download_request(self, request: Request) -> Response:
        """Download ``request``; its meta gets the response's TLS record (None over http). A body cut off
        at the maximum size without a Content-Length saying so is raised as ``BodyTooLargeError``."""
        request.meta.pop(TLS_KEY, None)  # a redirect's request carries its previous hop's meta
        try:
            response = await super().download_request(request)
        except DownloadCancelledError as exc:
            maxsize = request.meta.get("download_maxsize", self._default_maxsize)
            if isinstance(exc, BodyTooLargeError) or not maxsize or "max size" in str(exc):
                raise
            raise BodyTooLargeError(
                f"the body is larger than the maximum size of {maxsize} bytes (no Content-Length "
                f"announced it): download stopped there") from exc
        handshake = handshake_of(self._handshakes, response)
        if handshake is not None:
            host = urlparse_cached(request).hostname or ""
            key = (handshake.fingerprint, handshake.version, handshake.cipher, host)
            record = self._verified.get(key)
            if record is None:
                record = describe_tls(handshake, host, trust_store(self._ca_file), self._clock())
                if len(self._verified) >= 4096:
                    self._verified.clear()
                self._verified[key] = record
            request.meta[TLS_KEY] = record
        return response
