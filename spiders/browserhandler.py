"""The http/https download handler of a crawl that may use the browser.

Requests with ``meta["playwright"]`` go to scrapy-playwright's handler (Chromium, started by
executable path: PLAYWRIGHT_LAUNCH_OPTIONS); every other request to ``PooledHTTPDownloadHandler``,
exactly as in a crawl without a browser. On top of scrapy-playwright:

- the Playwright driver and Chromium are started at the first browser request, not with the crawl:
  a run that needs no browser starts none;
- the request's ``spiders.browser.PageRecorder`` is attached to its page before the page navigates
  (a recorder that cannot be attached fails the request: no page loads unguarded);
- the browser is restarted after ``COLLECTOR_BROWSER_RESTART_PAGES`` pages, at a moment no page is
  open (a crashed browser is relaunched by scrapy-playwright; the page it took down is a failed
  capture with its reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from spiders.browser import RECORDER_KEY
from spiders.handler import PooledHTTPDownloadHandler

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["BrowserDownloadHandler"]

log = logging.getLogger(__name__)


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler, PooledHTTPDownloadHandler):  # type: ignore[misc]
    """scrapy-playwright for browser requests, ``PooledHTTPDownloadHandler`` for the others."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.restart_pages = crawler.settings.getint("COLLECTOR_BROWSER_RESTART_PAGES", 100)
        self.pages_since_launch = 0
        self.restarts = 0
        self._started = False
        self._start_lock = asyncio.Lock()

    async def _maybe_launch_in_thread(self) -> None:
        """Not at engine start: at the first browser request (``_download_request``)."""

    def _engine_started(self) -> Any:  # older Scrapy's hook: the same
        return None

    async def _download_request(self, request: Request, spider: Spider | None = None) -> Response:
        async with self._start_lock:
            if not self._started:
                await self._launch()
                self._started = True
            await self._maybe_restart()
            self.pages_since_launch += 1
        return await super()._download_request(request, spider)

    async def _maybe_restart(self) -> None:
        """Close the browser after ``restart_pages`` pages when none is open (the next page
        launches a fresh one)."""
        if (self.restart_pages <= 0 or self.pages_since_launch < self.restart_pages
                or not hasattr(self, "browser") or self._get_total_page_count()):
            return
        browser = self.browser
        del self.browser  # the next page launches a new one
        with contextlib.suppress(Exception):
            browser.remove_listener("disconnected", self._browser_disconnected_callback)
            await browser.close()
        self.pages_since_launch = 0
        self.restarts += 1
        log.info("browser restarted after %d pages", self.restart_pages)

    async def _download_request_with_page(self, request: Request, page: Any,
                                          spider: Spider) -> Response:
        recorder = request.meta.get(RECORDER_KEY)
        if recorder is not None and not recorder.attached:
            await recorder.attach(page)
        return await super()._download_request_with_page(request, page, spider)

    async def _close(self) -> None:
        if self._started:
            await super()._close()
