"""Browser captures in the capture spider: which targets take the browser, their requests, and the
item a loaded page becomes.

A browser capture is a Scrapy request like any other (robots.txt, politeness, the private-address
guard and the run's settings apply to it), with ``meta["playwright"]``: scrapy-playwright loads it in
a fresh browser context of its own (``spiders.browserhandler``), its ``spiders.browser.PageRecorder``
records every request the page makes, and :meth:`BrowserCapture.page_item` waits for the page to
settle (at most ``browser_timeout``), runs the behaviours (``spiders.behaviours``), takes a full-page
screenshot and the rendered DOM, writes down the page info, and closes the context.

With a login profile (``COLLECTOR_BROWSER_PROFILE``: its name and storage-state file), every target
goes through the browser, each in a fresh context made from the profile's storage state (never
shared: a context is never reused, with or without a profile), the row's ``mode_reason`` is
``profile: NAME``, and the profile's secrets are redacted from the recorded headers
(``spiders.redaction``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from scrapy.settings import BaseSettings

from spiders.behaviours import run_behaviours
from spiders.browser import (
    DOM_URN,
    PAGEINFO_URN,
    RECORDER_KEY,
    SCREENSHOT_URN,
    PageRecorder,
    RequestGuard,
)
from spiders.outcomes import REASONS
from spiders.redaction import ProfileRedaction
from spiders.safety import allowed_hosts, normalize_host
from spiders.screenshot import Screenshooter

__all__ = ["MODE_REASON_KEY", "BrowserCapture", "BrowserProfile", "browser_mode", "close_page",
           "host_listed"]

MODE_REASON_KEY = "collector_mode_reason"
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOT_SECONDS = 15.0


def host_listed(host: str, hosts: list[str] | tuple[str, ...]) -> bool:
    """True when ``host`` is one of ``hosts`` or a subdomain of one (``m.facebook.com``)."""
    name = normalize_host(host)
    return any(name == h or name.endswith("." + h) for h in hosts)


def browser_mode(url: str, mode: str, hosts: list[str] | tuple[str, ...]) -> str | None:
    """Why ``url`` is captured with the browser under ``mode`` (``auto``, ``always``, ``never``)
    and ``browser_hosts``, or None when it is fetched over HTTP (``auto`` may still re-capture it
    with the browser when the HTTP capture is a JavaScript shell)."""
    if mode == "always":
        return "--browser"
    if mode == "auto":
        host = urlsplit(url).hostname or ""
        if host_listed(host, hosts):
            return "browser_hosts"
    return None


@dataclass(frozen=True, eq=False)
class BrowserProfile:
    """A login profile as a crawl uses it: its name, storage state and redaction."""

    name: str
    state: dict[str, Any]
    redaction: ProfileRedaction

    @classmethod
    def from_setting(cls, setting: Any) -> BrowserProfile | None:
        """The profile of ``COLLECTOR_BROWSER_PROFILE`` (``{"name", "path"}``), read from its file;
        None when the setting is empty."""
        if not setting:
            return None
        data = json.loads(Path(setting["path"]).read_text(encoding="utf-8"))
        state = {"cookies": data.get("cookies", []), "origins": data.get("origins", [])}
        return cls(str(setting["name"]), state, ProfileRedaction.of_state(state))

    @property
    def reason(self) -> str:
        """The ``mode_reason`` of its captures (the name, never a secret)."""
        return f"profile: {self.name}"


@dataclass(frozen=True, eq=False)
class BrowserCapture:
    """The browser settings of one crawl, and what its browser requests do."""

    timeout: float = 30.0
    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()
    max_resources: int = 500
    max_body_bytes: int = 50 * 2**20
    scroll_steps: int = 10
    user_agent: str | None = None
    ignore_https_errors: bool = True
    profile: BrowserProfile | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> BrowserCapture:
        """The browser settings of a crawl (``collector.capture.browser.browser_settings``)."""
        return cls(
            timeout=settings.getfloat("COLLECTOR_BROWSER_TIMEOUT", 30.0),
            allow_private=settings.getbool("COLLECTOR_ALLOW_PRIVATE"),
            allow_hosts=allowed_hosts(settings.getlist("COLLECTOR_ALLOW_HOSTS")),
            max_resources=settings.getint("COLLECTOR_BROWSER_MAX_RESOURCES", 500),
            max_body_bytes=settings.getint("DOWNLOAD_MAXSIZE", 50 * 2**20) or 50 * 2**20,
            scroll_steps=settings.getint("COLLECTOR_BROWSER_SCROLL_STEPS", 10),
            user_agent=settings.get("USER_AGENT"),
            ignore_https_errors=not settings.getbool("COLLECTOR_TLS_VERIFY"),
            profile=BrowserProfile.from_setting(settings.get("COLLECTOR_BROWSER_PROFILE")),
        )

    def request(self, url: str, meta: dict[str, Any], reason: str, *,
                callback: Callable[..., Any], errback: Callable[..., Any]) -> scrapy.Request:
        """The browser request of ``url`` (``meta``: the spider's own keys), in a context of its own."""
        recorder = PageRecorder(RequestGuard(allow_private=self.allow_private,
                                             allow_hosts=self.allow_hosts),
                                max_resources=self.max_resources,
                                max_body_bytes=self.max_body_bytes,
                                verifies_tls=not self.ignore_https_errors,
                                redaction=self.profile.redaction if self.profile else None)
        context: dict[str, Any] = {
            "accept_downloads": False, "viewport": VIEWPORT, "java_script_enabled": True,
            # a service worker's requests would not pass the guard's route: none are started
            "service_workers": "block", "ignore_https_errors": self.ignore_https_errors,
        }
        if self.user_agent:
            context["user_agent"] = self.user_agent
        if self.profile is not None:  # this context alone: closed after the page, like any other
            context["storage_state"] = self.profile.state
        return scrapy.Request(url, callback=callback, errback=errback, dont_filter=True, meta={
            **meta, MODE_REASON_KEY: reason, RECORDER_KEY: recorder,
            "playwright": True, "playwright_include_page": True,
            "playwright_context": f"collector-{next(_SERIAL)}",  # fresh per capture, closed after
            "playwright_context_kwargs": context,
            # back at the first byte: the rest of the wait is page_item's, bounded by the timeout
            "playwright_page_goto_kwargs": {"wait_until": "commit",
                                            "timeout": self.timeout * 1000},
        })

    async def page_item(self, response: Response) -> dict[str, Any]:
        """The loaded page as item fields: ``outcome``, ``hops`` (the top document), ``final_url``,
        ``mode``, ``mode_reason``, ``reason_detail`` (what cut it short), ``subresources``,
        ``attachments`` (screenshot, DOM, page info). The page's context is closed after."""
        meta = response.meta
        page = meta["playwright_page"]
        recorder: PageRecorder = meta[RECORDER_KEY]
        started = time.monotonic()
        budget = max(0.5, self.timeout - float(meta.get("download_latency") or 0.0))
        notes: list[str] = []
        phases: dict[str, float] = {}  # when each phase ended (the page info's timings)
        timings: dict[str, Any] = {"first_byte_s": round(float(meta.get("download_latency") or 0), 3)}
        shooter = Screenshooter(page).start()  # its session opens while the page settles
        try:
            try:
                await page.wait_for_load_state("load", timeout=budget * 1000)
                timings["load_s"] = round(time.monotonic() - started + timings["first_byte_s"], 3)
            except Exception:
                notes.append(f"cut off at browser_timeout ({self.timeout:g} s): the page never "
                             "finished loading")
            recorder.loaded = True  # from here on no top-level navigation, load event or not
            remaining = max(0.0, budget - (time.monotonic() - started))
            timings["network_idle"] = await recorder.wait_idle(min(remaining, 5.0))
            phases["idle"] = time.monotonic()
            behaviours = await run_behaviours(page, recorder, scroll_steps=self.scroll_steps,
                                              idle_seconds=min(5.0, self.timeout))
            phases["behaviours"] = time.monotonic()
            screenshot = await _screenshot(shooter, notes)
            phases["screenshot"] = time.monotonic()
            # both read the page as it is: at once (one round trip's wait instead of two)
            dom, (title, timings["navigation"]) = await asyncio.gather(
                asyncio.wait_for(page.content(), 10.0), _title_and_timing(page))
            final_url = page.url
            phases["dom"] = time.monotonic()
            await recorder.settle(5.0)
            phases["recording"] = time.monotonic()
            document = recorder.document or await recorder.document_fallback(3.0)
            if recorder.inflight:
                notes.append(f"{recorder.inflight} request(s) still pending when the page was taken")
            browser_version = page.context.browser.version if page.context.browser else None
        finally:
            shooter.close()
            await close_page(meta)
        phases["close"] = time.monotonic()
        timings["settle_s"] = round(time.monotonic() - started, 3)
        timings["phases_s"] = _durations(started, phases)
        if document is None:
            refused = recorder.refused_redirect()  # the top document redirected to a refused target
            return {"outcome": "failed", "reason": _refusal_reason(refused),
                    "final_url": final_url, "hops": [],
                    "reason_detail": refused or "the browser loaded the page but its top document "
                                                "was not recorded", "mode": "browser",
                    "mode_reason": meta.get(MODE_REASON_KEY)}
        page_url = document[-1]["url"]  # the records' URNs name the page, whatever page.url says
        info = {
            "url": meta.get("collector_target", {}).get("url", response.url), "final_url": final_url,
            "title": title, "browser": f"chromium {browser_version}" if browser_version else None,
            "browser_launch": meta.get("collector_browser_launch"),
            "mode_reason": meta.get(MODE_REASON_KEY), "timings": timings, "behaviours": behaviours,
            "notes": notes, **recorder.info(),
        }
        attachments = [{"uri": PAGEINFO_URN + page_url, "content_type": "application/json",
                        "body": json.dumps(info, ensure_ascii=False, default=str,
                                           sort_keys=True).encode("utf-8")},
                       {"uri": DOM_URN + page_url, "content_type": "text/html; charset=utf-8",
                        "body": dom.encode("utf-8")}]
        if screenshot is not None:
            attachments.insert(0, {"uri": SCREENSHOT_URN + page_url, "content_type": "image/png",
                                   "body": screenshot})
        return {"outcome": "captured", "reason": None, "reason_detail": "; ".join(notes) or None,
                "hops": document, "final_url": document[-1]["url"], "mode": "browser",
                "mode_reason": meta.get(MODE_REASON_KEY), "subresources": recorder.resources,
                "attachments": attachments, "title": title}


_SERIAL = itertools.count(1)


def _refusal_reason(refused: str | None) -> str:
    """The outcome reason of a top document that was not recorded: ``robots-txt`` when robots.txt
    forbade its redirect target (as for an HTTP capture), ``private-address`` when the guard refused
    it, else ``error``."""
    if refused is None:
        return "error"
    return "robots-txt" if refused.endswith(REASONS["robots-txt"]) else "private-address"


async def _screenshot(shooter: Screenshooter, notes: list[str]) -> bytes | None:
    try:
        return await shooter.take(SCREENSHOT_SECONDS)
    except Exception as exc:  # a page too tall, or one that never paints: the capture stands
        notes.append(f"no screenshot: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        return None


def _durations(started: float, ends: dict[str, float]) -> dict[str, float]:
    """Each phase's seconds, from the end of the one before (``ends``: in order)."""
    out, last = {}, started
    for name, end in ends.items():
        out[name] = round(end - last, 3)
        last = end
    return out


async def _title_and_timing(page: Any) -> tuple[str, dict[str, Any] | None]:
    """The page's title and its navigation timing entry (one round trip)."""
    try:
        value = await asyncio.wait_for(page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return {title: document.title, timing: n ? {responseEnd: n.responseEnd,"
            " domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
            " transferSize: n.transferSize} : null} }"), 5.0)
    except Exception:
        return "", None
    if not isinstance(value, dict):
        return "", None
    return str(value.get("title") or ""), value.get("timing")


async def close_page(meta: dict[str, Any]) -> None:
    """Close a browser request's page and its context (a failed request's too)."""
    page = meta.pop("playwright_page", None)
    if page is None:
        return
    with contextlib.suppress(Exception):  # already closed, or the browser went away
        await asyncio.wait_for(page.context.close(), 10.0)
