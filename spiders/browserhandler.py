"""The http/https download handler of a crawl that may use the browser.

Requests with ``meta["playwright"]`` go to scrapy-playwright's handler (Chromium, started by
executable path: PLAYWRIGHT_LAUNCH_OPTIONS); every other request to ``PooledHTTPDownloadHandler``,
exactly as in a crawl without a browser. On top of scrapy-playwright:

- the Playwright driver and Chromium are started at the first browser request, not with the crawl:
  a run that needs no browser starts none;
- the request's ``spiders.browser.PageRecorder`` is attached to its page before the page navigates
  (a recorder that cannot be attached fails the request: no page loads unguarded);
- the browser is restarted after ``COLLECTOR_BROWSER_RESTART_PAGES`` pages, when the last open
  context closes (a crashed browser is relaunched by scrapy-playwright; the page it took down is a failed
  capture with its reason).
"""

from __future__ import annotations

import asyncio
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
        self._closing: set[asyncio.Future[Any]] = set()

    async def _maybe_launch_in_thread(self) -> None:
        """Not at engine start: at the first browser request (``_download_request``)."""

    def _engine_started(self) -> Any:  # older Scrapy's hook: the same
        return None

    async def _download_request(self, request: Request, spider: Spider | None = None) -> Response:
        async with self._start_lock:
            if not self._started:
                await self._launch()
                self._started = True
        response: Response = await super()._download_request(request, spider)
        return response

    async def _create_page(self, request: Request, spider: Spider) -> Any:
        page = await super()._create_page(request, spider)
        self.pages_since_launch += 1
        request.meta["collector_browser_launch"] = self.restarts + 1  # for the page info
        return page

    def _make_close_browser_context_callback(self, name: str, persistent: bool, remote: bool,
                                             spider: Spider | None = None) -> Any:
        closed = super()._make_close_browser_context_callback(name, persistent, remote, spider)

        def restart_when_due() -> None:
            closed()
            self._restart_if_due()

        return restart_when_due

    def _restart_if_due(self) -> None:
        """After ``restart_pages`` pages, when the last context closes: drop the browser (the
        next page launches a fresh one) and close it. Synchronous, so no page can start in
        between on the old browser."""
        if (self.restart_pages <= 0 or self.pages_since_launch < self.restart_pages
                or self.context_wrappers or not hasattr(self, "browser")):
            return
        browser = self.browser
        del self.browser
        browser.remove_listener("disconnected", self._browser_disconnected_callback)
        task = asyncio.ensure_future(browser.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        self.pages_since_launch = 0
        self.restarts += 1
        log.info("browser restarted after %d pages", self.restart_pages)

    async def _download_request_with_page(self, request: Request, page: Any,
                                          spider: Spider) -> Response:
        recorder = request.meta.get(RECORDER_KEY)
        if recorder is not None and not recorder.attached:
            await recorder.attach(page)
        response: Response = await super()._download_request_with_page(request, page, spider)
        return response

    async def _close(self) -> None:
        if self._started:
            await super()._close()
