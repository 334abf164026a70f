"""A downloader middleware next to the downloader that keeps every hop's raw request and response.

It runs closest to the download handler, so the response it sees is the one received: status line,
headers and body before HttpCompressionMiddleware decodes it and before RedirectMiddleware follows it.
Each hop is appended, as a plain dict, to ``request.meta["collector_hops"]`` (a list shared by every
request of a redirect chain). Requests without that key (robots.txt) are not recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrapy.utils.httpobj import urlparse_cached

from spiders.proxyurl import public_proxy_url
from spiders.tls import TLS_KEY

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["HOPS_KEY", "RecordingMiddleware", "headers_list"]

HOPS_KEY = "collector_hops"


def headers_list(headers: Any) -> list[tuple[str, str]]:
    """Scrapy Headers as a list of (name, value) strings, one pair per value."""
    out = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values or [b""]:
            out.append((key, value.decode("latin-1") if isinstance(value, bytes) else str(value)))
    return out


class RecordingMiddleware:
    """Records raw hops into ``request.meta``; changes nothing."""

    def __init__(self, clock: Any = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordingMiddleware:
        """Build from the crawler (the clock may be injected with COLLECTOR_CLOCK)."""
        return cls(crawler.settings.get("COLLECTOR_CLOCK"))

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        """Append the raw hop to the request's hop list."""
        if HOPS_KEY not in request.meta or request.meta.get("playwright"):
            return response  # robots.txt; a browser page (spiders.browser records its hops)
        parts = urlparse_cached(request)
        # the download handler measured from sending the request to the response headers
        latency = request.meta.get("download_latency") or 0.0
        sent_at = self.clock() - timedelta(seconds=latency)
        sent = headers_list(request.headers)
        if not any(name.lower() == "host" for name, _ in sent):
            sent.insert(0, ("Host", parts.netloc))
        request.meta[HOPS_KEY].append({
            "url": request.url,
            "method": request.method,
            "request_headers": sent,
            "request_body": request.body or b"",
            "requested_at": sent_at,
            "status": response.status,
            "protocol": getattr(response, "protocol", None) or "HTTP/1.1",
            "response_headers": headers_list(response.headers),
            "body": response.body,
            "ip_address": str(response.ip_address) if response.ip_address else None,
            # what the handler found of the TLS handshake (None over http), and the proxy used
            "tls": request.meta.get(TLS_KEY),
            "proxy": public_proxy_url(request.meta.get("proxy")),
        })
        return response
