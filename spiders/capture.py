"""The capture spider: one request per target URL, one item per attempt (response or failure)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from spiders.browser import DOM_URN, RECORDER_KEY
from spiders.browsercapture import MODE_REASON_KEY, BrowserCapture, browser_mode, close_page
from spiders.jsshell import js_shell_reason, js_shell_signal
from spiders.outcomes import classify_exception
from spiders.recording import HOPS_KEY
from spiders.requisites import Requisite, css_requisites, is_css, is_html, page_needs

__all__ = ["CaptureSpider", "PageBudget", "RequisiteBudgetMiddleware", "RequisiteBudgetSpent"]

TARGET_KEY = "collector_target"
PAGE_KEY = "collector_page"  # a requisite's request: the PageBudget of the page it is loaded for


@dataclass
class PageBudget:
    """What is left of one page's requisite limits (``requisites_max``, ``requisites_max_bytes``)."""

    token: int  # the page's item carries it as ``page_token``, its requisites' items as ``page_of``
    url: str
    count: int
    bytes: int
    dropped: int = 0  # requisites not fetched because a limit was reached


class RequisiteBudgetSpent(IgnoreRequest):
    """A requisite not fetched: its page's ``requisites_max_bytes`` were spent meanwhile (no row)."""


class RequisiteBudgetMiddleware:
    """Downloader middleware next to the downloader: a page requisite may download only what is left
    of its page's byte budget when it leaves (``download_maxsize``: beyond it, outcome ``too-large``),
    and is not sent once the budget is spent. What each response received is taken off the budget."""

    def process_request(self, request: scrapy.Request, spider: scrapy.Spider | None = None) -> None:
        """Cap the requisite's size at what is left, or drop it when nothing is."""
        page = request.meta.get(PAGE_KEY)
        if page is None:
            return
        if page.bytes <= 0:
            page.dropped += 1
            raise RequisiteBudgetSpent(f"the byte budget of {page.url}'s requisites is spent")
        request.meta["download_maxsize"] = min(page.bytes, request.meta.get("download_maxsize")
                                               or page.bytes)

    def process_response(self, request: scrapy.Request, response: Response,
                         spider: scrapy.Spider | None = None) -> Response:
        """Take the body received off the page's budget."""
        page = request.meta.get(PAGE_KEY)
        if page is not None:
            page.bytes -= len(response.body)
        return response

    def process_exception(self, request: scrapy.Request, exception: Exception,
                          spider: scrapy.Spider | None = None) -> None:
        """A requisite cut at its maximum size took what was left of the budget."""
        page = request.meta.get(PAGE_KEY)
        if page is not None and classify_exception(exception)[0] == "too-large":
            page.bytes = 0


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
        self._pages = 0  # tokens given to pages whose requisites are fetched
        self._fetched: set[str] = set()  # requisite URLs requested in this run (fetched once per run)

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

    def requisite_limits(self) -> tuple[int, int]:
        """(requisites_max, requisites_max_bytes) of this crawl; (0, 0) when requisites are off."""
        if not self._setting_bool("COLLECTOR_REQUISITES"):
            return 0, 0
        settings = self.crawler.settings
        return (settings.getint("COLLECTOR_REQUISITES_MAX", 60),
                settings.getint("COLLECTOR_REQUISITES_MAX_BYTES", 25 * 2**20))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """One request per target, made lazily so huge URL lists stay out of memory.

        Scrapy reads start() on as long as the downloader is busy, which would put every target's
        request in the scheduler at once (20,000 URLs: 20,000 requests with their meta). Here the
        requests are put in the scheduler (``engine.crawl``, as start requests) until
        ``backlog_limit`` wait there, then again once fewer than half of that wait. Yielded, they
        would reach the scheduler one per turn of the reactor while the downloader has room, and a
        busy crawl turns slowly: on 2,000 pages the scheduler ran empty and the downloader had a
        median of 4 requests in flight of 32 allowed, against 31 for bare Scrapy.
        """
        limit = self.backlog_limit()
        for target in self.targets:
            self._fetched.add(target["url"])  # a target is no requisite to fetch again
            request = self.request_for(target)
            scheduler = _scheduler(self)  # without it the backlog cannot be watched: yield
            if scheduler is None or not self.schedule(request):
                yield request
                continue
            if len(scheduler) >= limit:
                await self._backlog_below(scheduler, max(1, limit // 2))

    def schedule(self, request: scrapy.Request) -> bool:
        """Put ``request`` in the running crawl's scheduler now, as a start request (the scheduler's
        FIFO start queue keeps the targets' order); False when there is no running crawl to take it
        (the caller yields it then)."""
        engine = getattr(self.crawler, "engine", None)
        if engine is None:
            return False
        request.meta.setdefault("is_start_request", True)
        engine.crawl(request)
        return True

    async def _backlog_below(self, scheduler: Any, low: int) -> None:
        """Return once fewer than ``low`` requests wait in ``scheduler``. It is looked at again each
        time a download ends, or the scheduler runs empty (a request refused before the downloader,
        by robots.txt say, ends no download)."""
        while len(scheduler) >= low:
            # no await between the check and the wait: the signals cannot be missed
            await _any_signal(self.crawler.signals,
                              (signals.request_left_downloader, signals.scheduler_empty))

    def backlog_limit(self) -> int:
        """How many requests may wait in the scheduler: four times the crawl's concurrency."""
        return max(64, 4 * self.crawler.settings.getint("CONCURRENT_REQUESTS", 16))

    def request_for(self, target: dict[str, Any]) -> scrapy.Request:
        """The Scrapy request of one target (``{"url": ..., "id": ...}``): through the browser when
        the target says so (``mode``: "browser") or the COLLECTOR_BROWSER mode picks it; always
        with a login profile."""
        profile = self.browser.profile if self.browser_setting != "never" else None
        reason = (profile.reason if profile is not None
                  else target.get("mode_reason") or "target" if target.get("mode") == "browser"
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

    def parse(self, response: Response, **_: Any) -> Iterable[dict[str, Any] | scrapy.Request]:
        """The final response of a target: under ``browser = "auto"``, the target's browser request
        when the response is a JavaScript shell (both captures stay); a captured item; then (an HTML
        page, requisites on) one request per page requisite."""
        signal = self.js_shell(response)
        if signal is not None:
            yield self.browser_request(response.meta[TARGET_KEY], js_shell_reason(signal))
        item = self._captured(response)
        wanted, media = self._page_needs(response)
        if media:  # the video and audio it embeds, for the media step after the crawl
            item["media"] = [{"url": m.url, "kind": m.kind} for m in media]
        if not wanted:
            yield item
            return
        count, size = self.requisite_limits()
        maxsize = self.crawler.settings.getint("DOWNLOAD_MAXSIZE", 0)
        size = min(size, maxsize) if maxsize else size
        self._pages += 1
        page = PageBudget(token=self._pages, url=response.url, count=count, bytes=size)
        yield {**item, "page_token": page.token}
        yield from self._requests(page, wanted)

    def parse_requisite(self, response: Response, **_: Any) -> Iterable[dict[str, Any] | scrapy.Request]:
        """A requisite's response: its item, then (a stylesheet) the requisites it loads in turn."""
        page: PageBudget = response.meta[PAGE_KEY]
        yield {**self._captured(response), "page_of": page.token}
        if isinstance(response, TextResponse) and 200 <= response.status < 300 and is_css(
                _content_type(response), response.url):
            yield from self._requests(page, css_requisites(response.text, response.url))

    def _page_needs(self, response: Response) -> tuple[list[Requisite], list[Requisite]]:
        """(requisites to fetch, media embedded) of a page response (none for anything but a 2xx
        HTML page, nor for a check's soft-404 probe; each only when its setting is on)."""
        if not isinstance(response, TextResponse) or not 200 <= response.status < 300:
            return [], []
        requisites = bool(self.requisite_limits()[0])
        media = self._setting_bool("COLLECTOR_MEDIA_EMBEDDED")
        if not (requisites or media) or not is_html(_content_type(response)):
            return [], []
        if (response.meta[TARGET_KEY].get("context") or {}).get("probe"):
            return [], []  # a check's soft-404 probe is no page anyone will look at
        self._fetched.add(response.url)  # a page needed by another page is not fetched again
        wanted, embedded = page_needs(response.body, response.url, response.encoding,
                                      requisites=requisites)
        return wanted, (embedded if media else [])

    def _setting_bool(self, name: str) -> bool:
        settings = getattr(getattr(self, "crawler", None), "settings", None)
        return bool(settings is not None and settings.getbool(name, False))

    def _requests(self, page: PageBudget, wanted: list[Requisite]) -> Iterator[scrapy.Request]:
        """Requests of the requisites not yet fetched in this run, while the page's limits last."""
        for requisite in wanted:
            if requisite.url in self._fetched:
                continue
            if page.count <= 0 or page.bytes <= 0:
                page.dropped += 1
                continue
            page.count -= 1
            self._fetched.add(requisite.url)
            yield scrapy.Request(
                requisite.url, callback=self.parse_requisite, errback=self.failed, dont_filter=True,
                priority=1,  # before the next pages: a page's requisites are fetched close to it
                meta={HOPS_KEY: [], PAGE_KEY: page, "download_maxsize": page.bytes,
                      TARGET_KEY: {"url": requisite.url,
                                   "context": {"requisite_of": page.url, "requisite": requisite.kind}},
                      "collector_started": datetime.now(UTC)})

    def _captured(self, response: Response) -> dict[str, Any]:
        meta = response.meta
        return {
            "target": meta[TARGET_KEY],
            "outcome": "captured",
            "reason": None,
            "reason_detail": None,
            "hops": list(meta.get(HOPS_KEY, [])),
            "final_url": response.url,
            "redirect_chain": _chain(meta.get(HOPS_KEY, [])),
            "started_at": meta.get("collector_started"),
            "mode_reason": _http_reason(meta[TARGET_KEY]),
        }

    def js_shell(self, response: Response) -> str | None:
        """The JavaScript-shell signal of an HTML response under ``browser = "auto"``, else None
        (None too for a target set to ``mode`` "http": it stays an HTTP capture)."""
        if (self.browser_setting != "auto" or response.status != 200
                or response.meta[TARGET_KEY].get("mode") == "http"):
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
        media = self._browser_media(page, meta[TARGET_KEY])
        yield {
            "target": meta[TARGET_KEY],
            "redirect_chain": _chain(page["hops"]),
            "started_at": meta.get("collector_started"),
            **page,
            **({"media": media} if media else {}),
        }

    def _browser_media(self, page: dict[str, Any], target: dict[str, Any]) -> list[dict[str, str]]:
        """The ``<video>``/``<audio>`` of a browser page's DOM, as an HTTP page's (a login profile's
        capture goes through the browser: its members-only video is found there), when embedded media
        is on; none for a failed page or a check's soft-404 probe."""
        if page["outcome"] != "captured" or not self._setting_bool("COLLECTOR_MEDIA_EMBEDDED"):
            return []
        if (target.get("context") or {}).get("probe"):
            return []  # a check's soft-404 probe is no page anyone will look at
        dom = next((a["body"] for a in page.get("attachments") or []
                    if str(a.get("uri", "")).startswith(DOM_URN)), None)
        if dom is None:
            return []
        _, media = page_needs(dom, page["final_url"], "utf-8", requisites=False)
        return [{"url": m.url, "kind": m.kind} for m in media]

    async def browser_failed(self, failure: Failure) -> AsyncIterator[dict[str, Any]]:
        """A browser request that failed (the page's context is closed first)."""
        request = getattr(failure, "request", None)
        if request is not None:
            await close_page(request.meta)
        recorder = request.meta.get(RECORDER_KEY) if request is not None else None
        refused = recorder.refused_redirect() if recorder is not None else None
        for item in self.failed(failure):
            if refused is not None:  # the top document redirected to a target the guard refused
                item = {**item, "reason": "private-address", "reason_detail": refused}
            yield {**item, "mode": "browser",
                   "mode_reason": request.meta.get(MODE_REASON_KEY) if request else None}

    def failed(self, failure: Failure) -> Iterable[dict[str, Any]]:
        """A target whose download failed: a failed item with its reason (and any hops received)."""
        request = getattr(failure, "request", None)
        meta = request.meta if request is not None else {}
        if isinstance(failure.value, RequisiteBudgetSpent):
            return  # not fetched at all: counted on its page, no attempt to record
        reason, detail = classify_exception(cast(BaseException, failure.value))  # set once it fails
        hops = list(meta.get(HOPS_KEY, []))
        page = meta.get(PAGE_KEY)
        target = meta.get(TARGET_KEY, {"url": request.url if request is not None else ""})
        yield {
            **({"page_of": page.token} if page is not None else {}),
            "target": target,
            "mode_reason": _http_reason(target),
            "outcome": "failed",
            "reason": reason,
            "reason_detail": detail,
            "hops": hops,
            "final_url": hops[-1]["url"] if hops else None,
            "redirect_chain": _chain(hops),
            "started_at": meta.get("collector_started"),
        }


async def _any_signal(manager: Any, which: tuple[Any, ...]) -> None:
    """Await the next of the ``which`` signals of ``manager`` (a Scrapy SignalManager): its
    ``wait_for`` for several signals at once."""
    fired: Deferred[None] = Deferred()

    def handle(**_: Any) -> None:
        for signal in which:
            manager.disconnect(handle, signal)
        if not fired.called:
            fired.callback(None)

    for signal in which:
        manager.connect(handle, signal)
    await maybe_deferred_to_future(fired)


def _scheduler(spider: scrapy.Spider) -> Any:
    """The running crawl's scheduler (it has a length), or None if it cannot be reached."""
    slot = getattr(getattr(spider.crawler, "engine", None), "_slot", None)
    scheduler = getattr(slot, "scheduler", None)
    return scheduler if hasattr(scheduler, "__len__") else None


def _http_reason(target: dict[str, Any]) -> str | None:
    """Why a target set to ``mode`` "http" was fetched over HTTP (None for any other target)."""
    return target.get("mode_reason") if target.get("mode") == "http" else None


def _content_type(response: Response) -> str:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _chain(hops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"url": hop["url"], "status": hop["status"]} for hop in hops]
