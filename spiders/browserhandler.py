"""The http/https download handler of a crawl that may use the browser.

Requests with ``meta["playwright"]`` go to scrapy-playwright's handler (Chromium, started by
executable path: PLAYWRIGHT_LAUNCH_OPTIONS); every other request to ``PooledHTTPDownloadHandler``,
exactly as in a crawl without a browser. On top of scrapy-playwright:

- the Playwright driver and Chromium are started at the first browser request, not with the crawl:
  a run that needs no browser starts none;
- the request's ``spiders.browser.PageRecorder`` is attached to its page before the page navigates
  (a recorder that cannot be attached fails the request: no page loads unguarded);
- unless ``COLLECTOR_ALLOW_PRIVATE``, Chromium is launched behind ``spiders.guardproxy.GuardProxy``
  (``--proxy-server``, with ``<-loopback>`` so that loopback targets pass it too): every connection
  the browser opens, redirect targets and everything else no request interception sees, meets the
  SSRF guard with the crawl's ``COLLECTOR_ALLOW_HOSTS``. One proxy per crawl process, kept across
  browser restarts; each page's recorder is told of it (the server address of a proxied response is
  the proxy's: the recorder asks the proxy which address it connected to);
- with ``ROBOTSTXT_OBEY``, each page's recorder checks the page's own sub-resource requests against
  robots.txt through the crawl's robots.txt middleware (``spiders.robots.SubresourceRobots``: one
  fetch per host, shared with the crawl's plain requests);
- the browser is restarted after ``COLLECTOR_BROWSER_RESTART_PAGES`` pages, when the last open
  context closes (a crashed browser is relaunched by scrapy-playwright; the page it took down is a failed
  capture with its reason);
- no per-request listeners of scrapy-playwright's own: its request and response counters (Scrapy
  stats nobody reads; the page info counts what each page loaded) are taken off each page, and its
  request and response loggers are never attached below the crawl's ``LOG_LEVEL`` (they log at
  DEBUG, each after a header lookup, for a log that drops them). Each listener of a Playwright event
  costs the crawl process a call (and Playwright an ``inspect.signature``) per request; with the
  four gone, a bench page (20 sub-resources) took ~0.05 s less CPU (see docs/browser.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from spiders.browser import RECORDER_KEY
from spiders.guardproxy import GuardProxy
from spiders.handler import PooledHTTPDownloadHandler
from spiders.robots import SubresourceRobots
from spiders.safety import allowed_hosts

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["PLAYWRIGHT_LOGGER", "BrowserDownloadHandler", "quiet_below", "with_proxy"]

log = logging.getLogger(__name__)

PLAYWRIGHT_LOGGER = "scrapy-playwright"  # scrapy-playwright's logger (its per-request DEBUG lines)


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
        self.crawler = crawler
        self.guard_proxy: GuardProxy | None = None
        if not crawler.settings.getbool("COLLECTOR_ALLOW_PRIVATE"):
            allow = allowed_hosts(crawler.settings.getlist("COLLECTOR_ALLOW_HOSTS"))
            self.guard_proxy = GuardProxy(
                allow_private=False, allow_hosts=allow,
                timeout=crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30.0), name="browser-guard")
        self._robots: SubresourceRobots | None = None
        quiet_below(logging.getLogger(PLAYWRIGHT_LOGGER), crawler.settings.get("LOG_LEVEL"))

    async def _maybe_launch_in_thread(self) -> None:
        """Not at engine start: at the first browser request (``_download_request``)."""

    def _engine_started(self) -> Any:  # older Scrapy's hook: the same
        return None

    async def _download_request(self, request: Request, spider: Spider | None = None) -> Response:
        async with self._start_lock:
            if not self._started:
                if self.guard_proxy is not None:
                    self.config.launch_options = with_proxy(self.config.launch_options,
                                                            self.guard_proxy.start().url)
                await self._launch()
                self._robots = self._subresource_robots()
                self._started = True
        response: Response = await super()._download_request(request, spider)
        return response

    async def _create_page(self, request: Request, spider: Spider) -> Any:
        page = await super()._create_page(request, spider)
        # Scrapy stats of every request and response, read by nobody: a call each per request
        page.remove_listener("request", self._increment_request_stats)
        page.remove_listener("response", self._increment_response_stats)
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
            recorder.proxy, recorder.robots = self.guard_proxy, self._robots
            await recorder.attach(page)
        response: Response = await super()._download_request_with_page(request, page, spider)
        return response

    def _subresource_robots(self) -> SubresourceRobots | None:
        """The robots.txt check of sub-resources: the crawl's robots.txt middleware (None when the
        crawl does not obey robots.txt)."""
        engine = getattr(self.crawler, "engine", None)
        middlewares = engine.downloader.middleware.middlewares if engine is not None else ()
        found = next((mw for mw in middlewares if isinstance(mw, RobotsTxtMiddleware)), None)
        if found is None:
            return None
        settings = self.crawler.settings
        return SubresourceRobots(found, settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"))

    async def _close(self) -> None:
        if self._started:
            await super()._close()
        if self.guard_proxy is not None:
            self.guard_proxy.close()


def quiet_below(logger: logging.Logger, level: str | int | None) -> None:
    """Raise ``logger``'s level to the crawl's ``LOG_LEVEL`` (``level``) when it is lower: Scrapy's
    log handler drops those records, so they need not be made (scrapy-playwright attaches its
    per-request loggers only when its logger is enabled for DEBUG)."""
    number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if isinstance(number, int) and logger.getEffectiveLevel() < number:
        logger.setLevel(number)


def with_proxy(options: dict[str, Any], proxy_url: str) -> dict[str, Any]:
    """Playwright launch ``options`` with every connection through ``proxy_url``, loopback targets
    included (Chromium bypasses proxies for them unless told ``<-loopback>``)."""
    return {**options, "proxy": {"server": proxy_url, "bypass": "<-loopback>"}}
