"""Retries with exponential backoff (Scrapy's RetryMiddleware retries at once).

The n-th retry of a request waits ``RETRY_BACKOFF_BASE * 2**(n-1)`` seconds, capped at
``RETRY_BACKOFF_MAX``; a 429 or 503 with ``Retry-After`` waits what the server asked (also capped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

from spiders.politeness import retry_after_seconds

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

__all__ = ["BackoffRetryMiddleware", "backoff_seconds"]


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based)."""
    wait: float = base * 2 ** max(0, attempt - 1)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, cap)


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits (without blocking other requests) before each retry."""

    base: float  # seconds before the first retry, doubled for each next one
    cap: float  # the longest wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        """Build from the crawler settings."""
        mw = cls(crawler.settings)
        mw.crawler = crawler
        mw.base = crawler.settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        mw.cap = crawler.settings.getfloat("RETRY_BACKOFF_MAX", 30.0)
        return mw

    async def _wait(self, retry: Request, response: Response | None = None) -> Request:
        hint = None
        if response is not None and response.status in (429, 503):
            header = response.headers.get(b"Retry-After")
            hint = retry_after_seconds(header.decode("latin-1") if header else None)
        delay = backoff_seconds(int(retry.meta.get("retry_times", 1)), self.base, self.cap, hint)
        if delay > 0:
            from twisted.internet import reactor  # here: importing it installs the reactor

            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return retry

    async def process_response(self, request: Request, response: Response,  # type: ignore[override]
                               spider: Spider | None = None) -> Request | Response:
        """Retry a retryable status after a backoff."""
        result = super().process_response(request, response)
        if isinstance(result, Request):
            return await self._wait(result, response)
        return result

    async def process_exception(self, request: Request, exception: Exception,  # type: ignore[override]
                                spider: Spider | None = None) -> Request | Response | None:
        """Retry a transient download error after a backoff."""
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            return await self._wait(result)
        return result
