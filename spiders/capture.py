"""The capture spider: one request per target URL, one item per attempt (response or failure)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, cast

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.browser import RECORDER_KEY
from spiders.browsercapture import MODE_REASON_KEY, BrowserCapture, browser_mode, close_page
from spiders.jsshell import js_shell_signal
from spiders.outcomes import classify_exception
from spiders.recording import HOPS_KEY

__all__ = ["CaptureSpider"]

TARGET_KEY = "collector_target"


class CaptureSpider(scrapy.Spider):
    """Fetch each target once (redirects followed) and yield a plain-dict capture item."""

    name = "capture"
    custom_settings: dict[str, Any] = {}

    def __init__(self, targets: Iterable[dict[str, Any]] = (), url: str | None = None,
                 **kwargs: Any) -> None:
        """``targets``: ``{"url": ..., "context": ...}`` dicts (collector's crawls); ``url``: one URL or
        several separated by spaces, for ``scrapy crawl capture -a url=URL`` (used when no targets)."""
        super().__init__(**kwargs)
        self.targets = targets if targets or not url else [{"url": u} for u in url.split()]
        self._browser: BrowserCapture | None = None

    @property
    def browser(self) -> BrowserCapture:
        """The crawl's browser settings (COLLECTOR_BROWSER_*)."""
        if self._browser is None:
            self._browser = BrowserCapture.from_settings(self.crawler.settings)
        return self._browser

    @property
    def browser_setting(self) -> str:
        """COLLECTOR_BROWSER: ``auto``, ``always`` or ``never`` (``never`` when no browser can run)."""
        crawler = getattr(self, "crawler", None)  # none: a spider built without a crawl (tests)
        return str(crawler.settings.get("COLLECTOR_BROWSER") or "never") if crawler else "never"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """One request per target, made lazily so huge URL lists stay out of memory.

        Scrapy reads start() on as long as the downloader is busy, which would put every target's
        request in the scheduler at once (20,000 URLs: 20,000 requests with their meta). Here it
        pauses whenever ``backlog_limit`` requests wait in the scheduler, until the scheduler is empty.
        """
        limit = self.backlog_limit()
        for target in self.targets:
            yield self.request_for(target)
            scheduler = _scheduler(self)
            if scheduler is not None and len(scheduler) >= limit:
                # no await between the check and the wait: the signal cannot be missed
                await self.crawler.signals.wait_for(signals.scheduler_empty)

    def backlog_limit(self) -> int:
        """How many requests may wait in the scheduler: four times the crawl's concurrency."""
        return max(64, 4 * self.crawler.settings.getint("CONCURRENT_REQUESTS", 16))

    def request_for(self, target: dict[str, Any]) -> scrapy.Request:
        """The Scrapy request of one target (``{"url": ..., "id": ...}``): through the browser when
        the target says so (``mode``: "browser") or the COLLECTOR_BROWSER mode picks it."""
        reason = (target.get("mode_reason") or "target" if target.get("mode") == "browser"
                  else None if target.get("mode") == "http" or self.browser_setting == "never"
                  else browser_mode(target["url"], self.browser_setting,
                                    self.crawler.settings.getlist("COLLECTOR_BROWSER_HOSTS")))
        if reason is not None:
            return self.browser_request(target, reason)
        return scrapy.Request(
            target["url"], callback=self.parse, errback=self.failed, dont_filter=True,
            meta={HOPS_KEY: [], TARGET_KEY: target, "collector_started": datetime.now(UTC)},
        )

    def browser_request(self, target: dict[str, Any], reason: str) -> scrapy.Request:
        """The browser request of one target, ``reason`` saying why the browser."""
        return self.browser.request(
            target["url"], {HOPS_KEY: [], TARGET_KEY: target, "collector_started": datetime.now(UTC)},
            reason, callback=self.parse_browser, errback=self.browser_failed)

    def parse(self, response: Response, **_: Any) -> Iterable[Any]:
        """The final response of a target: a captured item (and, under ``browser = "auto"``, the
        target's browser request when the response is a JavaScript shell: both captures stay)."""
        meta = response.meta
        signal = self.js_shell(response)
        if signal is not None:
            yield self.browser_request(meta[TARGET_KEY], f"js-shell: {signal}")
        yield {
            "target": meta[TARGET_KEY],
            "outcome": "captured",
            "reason": None,
            "reason_detail": None,
            "hops": list(meta.get(HOPS_KEY, [])),
            "final_url": response.url,
            "redirect_chain": _chain(meta.get(HOPS_KEY, [])),
            "started_at": meta.get("collector_started"),
        }

    def js_shell(self, response: Response) -> str | None:
        """The JavaScript-shell signal of an HTML response under ``browser = "auto"``, else None."""
        if self.browser_setting != "auto" or response.status != 200:
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if "html" not in content_type:
            return None
        return js_shell_signal(response.body)

    async def parse_browser(self, response: Response, **_: Any) -> AsyncIterator[dict[str, Any]]:
        """A page the browser loaded: the captured item with its sub-resources and records."""
        meta = response.meta
        try:
            page = await self.browser.page_item(response)
        except Exception as exc:  # the page crashed or the browser went away: a failed attempt
            reason, detail = classify_exception(exc)
            crashed = getattr(meta.get(RECORDER_KEY), "crashed", False)
            page = {"outcome": "failed", "reason": reason,
                    "reason_detail": f"the page crashed: {detail}" if crashed else detail,
                    "hops": [], "final_url": None, "mode": "browser",
                    "mode_reason": meta.get(MODE_REASON_KEY)}
        yield {
            "target": meta[TARGET_KEY],
            "redirect_chain": _chain(page["hops"]),
            "started_at": meta.get("collector_started"),
            **page,
        }

    async def browser_failed(self, failure: Failure) -> AsyncIterator[dict[str, Any]]:
        """A browser request that failed (the page's context is closed first)."""
        request = getattr(failure, "request", None)
        if request is not None:
            await close_page(request.meta)
        for item in self.failed(failure):
            yield {**item, "mode": "browser",
                   "mode_reason": request.meta.get(MODE_REASON_KEY) if request else None}

    def failed(self, failure: Failure) -> Iterable[dict[str, Any]]:
        """A target whose download failed: a failed item with its reason (and any hops received)."""
        request = getattr(failure, "request", None)
        meta = request.meta if request is not None else {}
        reason, detail = classify_exception(cast(BaseException, failure.value))  # set once it fails
        hops = list(meta.get(HOPS_KEY, []))
        yield {
            "target": meta.get(TARGET_KEY, {"url": request.url if request is not None else ""}),
            "outcome": "failed",
            "reason": reason,
            "reason_detail": detail,
            "hops": hops,
            "final_url": hops[-1]["url"] if hops else None,
            "redirect_chain": _chain(hops),
            "started_at": meta.get("collector_started"),
        }


def _scheduler(spider: scrapy.Spider) -> Any:
    """The running crawl's scheduler (it has a length), or None if it cannot be reached."""
    slot = getattr(getattr(spider.crawler, "engine", None), "_slot", None)
    scheduler = getattr(slot, "scheduler", None)
    return scheduler if hasattr(scheduler, "__len__") else None


def _chain(hops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"url": hop["url"], "status": hop["status"]} for hop in hops]
