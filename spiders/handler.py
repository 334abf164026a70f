"""The http/https download handler: Scrapy's, keeping enough idle connections for a proxy.

Scrapy keeps at most CONCURRENT_REQUESTS_PER_DOMAIN idle connections per pool key. Through an HTTP
proxy every request shares one key (the proxy's), so with 32 requests in flight and 2 kept, most
requests open a fresh TCP connection to the proxy. Keeping up to CONCURRENT_REQUESTS idle
connections per key changes nothing for direct fetches (a host never has more connections than its
own concurrency) and lets proxied crawls reuse theirs.

A body that passes DOWNLOAD_MAXSIZE without a Content-Length announcing it (or a chunked body without
end) is cut off by Scrapy with a bare ``CancelledError``; it is raised here as ``BodyTooLargeError``
(outcome ``too-large``), as a body whose Content-Length is over the maximum is.

Its connections parse response headers under caps (``spiders.headercaps``): the settings
``COLLECTOR_MAX_HEADER_BYTES`` and ``COLLECTOR_MAX_HEADERS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import DownloadCancelledError

from spiders.headercaps import BoundedClientFactory, HeaderLimits

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["BodyTooLargeError", "PooledHTTPDownloadHandler"]


class BodyTooLargeError(DownloadCancelledError):
    """A body passed the maximum size while it was read (no Content-Length said so in advance)."""


class PooledHTTPDownloadHandler(HTTP11DownloadHandler):
    """HTTP11DownloadHandler whose connection pool keeps CONCURRENT_REQUESTS idle connections."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool.maxPersistentPerHost = max(
            self._pool.maxPersistentPerHost, crawler.settings.getint("CONCURRENT_REQUESTS"))
        default = HeaderLimits()
        self._pool._factory = BoundedClientFactory.with_limits(HeaderLimits(
            max_bytes=crawler.settings.getint("COLLECTOR_MAX_HEADER_BYTES", default.max_bytes),
            max_count=crawler.settings.getint("COLLECTOR_MAX_HEADERS", default.max_count)))

    async def download_request(self, request: Request) -> Response:
        """Scrapy's download, with a body cut off at the maximum size said to be so."""
        try:
            return await super().download_request(request)
        except DownloadCancelledError as exc:
            maxsize = request.meta.get("download_maxsize", self._default_maxsize)
            if isinstance(exc, BodyTooLargeError) or not maxsize or "max size" in str(exc):
                raise
            raise BodyTooLargeError(
                f"the body is larger than the maximum size of {maxsize} bytes (no Content-Length "
                f"announced it): download stopped there") from exc
