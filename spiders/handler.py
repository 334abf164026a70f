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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.utils.httpobj import urlparse_cached

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

__all__ = ["PooledHTTPDownloadHandler"]


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

    async def download_request(self, request: Request) -> Response:
        """Download ``request``; its meta gets the response's TLS record (None over http)."""
        request.meta.pop(TLS_KEY, None)  # a redirect's request carries its previous hop's meta
        response = await super().download_request(request)
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
