"""Politeness: AutoThrottle that also honors robots.txt ``Crawl-delay`` and backs off on 429/503.

Scrapy's AutoThrottle knows one global minimum delay; this extension keeps a per-host floor (the
host's ``Crawl-delay``) and doubles a host's delay when it answers 429 or 503 (``Retry-After`` honored,
capped at ``AUTOTHROTTLE_MAX_DELAY``).
"""

from __future__ import annotations

import contextlib
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["PoliteThrottle", "retry_after_seconds"]

BACKOFF_STATUSES = (429, 503)


def retry_after_seconds(value: str | None, now_ts: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None

    return max(0.0, when.timestamp() - (now_ts if now_ts is not None else time.time()))


class PoliteThrottle(AutoThrottle):
    """AutoThrottle plus per-host Crawl-delay floors and 429/503 backoff."""

    def __init__(self, crawler: Crawler) -> None:
        self.adaptive = crawler.settings.getbool("AUTOTHROTTLE_ENABLED")
        self.floors: dict[str, float] = {}
        self.crawler = crawler
        self.target_concurrency = max(
            0.1, crawler.settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY"))
        self.debug = False
        if not crawler.settings.getbool("COLLECTOR_POLITENESS", True):
            raise NotConfigured("COLLECTOR_POLITENESS is off")
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    def _spider_opened(self, spider: Spider) -> None:
        self.mindelay = self._min_delay()
        self.maxdelay = self._max_delay()
        if self.adaptive:
            self.crawler.engine.downloader._delay = self._start_delay()

    def _robots_parsed(self, robotparser: Any, request: Request, **_: Any) -> None:
        parser = getattr(robotparser, "rp", None)
        delay = None
        if parser is not None and hasattr(parser, "crawl_delay"):
            agent = self.crawler.settings.get("USER_AGENT") or "*"
            with contextlib.suppress(TypeError, ValueError):
                delay = parser.crawl_delay(agent)
        if not delay:
            # robots.txt is the host's first page's prerequisite, not a page: that page does not
            # wait the start delay behind it (a one-URL capture would wait ~1 s for nothing); the
            # pages after it are spaced as before, and a Crawl-delay spaces robots.txt too
            downloader = self.crawler.engine.downloader
            slot = downloader.slots.get(downloader.get_slot_key(request))
            if slot is not None:
                # long enough ago for any randomized delay (0 is not: Scrapy's clock may be uptime)
                slot.lastseen = min(slot.lastseen, time.monotonic() - 2 * slot.delay)
                if slot.latercall is not None:  # the wake-up for that delay: process the queue now
                    slot.latercall.cancel()
                    slot.latercall = None
                    downloader._process_queue(slot)
        else:
            host = urlsplit(request.url).hostname or ""
            self.floors[host] = min(float(delay), self.maxdelay)
            downloader = self.crawler.engine.downloader
            # slots created from now on start at the floor; an existing one is raised to it
            downloader.per_slot_settings.setdefault(host, {})["delay"] = self.floors[host]
            slot = downloader.slots.get(host)
            if slot is not None:
                slot.delay = max(slot.delay, self.floors[host])

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        key, slot = self._get_slot(request, spider)
        if slot is None:
            return
        floor = self.floors.get(key or "", 0.0)
        if key in self.floors and slot.delay < floor:
            slot.delay = floor
        if response.status in BACKOFF_STATUSES:
            header = response.headers.get(b"Retry-After")
            wait = retry_after_seconds(header.decode("latin-1") if header else None) or 0.0
            slot.delay = min(self.maxdelay, max(slot.delay * 2, 1.0, wait))
            return
        if self.adaptive:
            super()._response_downloaded(response, request, spider)
            if slot.delay < floor:
                slot.delay = floor
