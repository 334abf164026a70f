"""Politeness: AutoThrottle that also honors robots.txt ``Crawl-delay`` and backs off on 429/503.

Scrapy's AutoThrottle knows one global minimum delay; this extension keeps a per-host floor (the
host's ``Crawl-delay``) and doubles a host's delay when it answers 429 or 503 (``Retry-After`` honored,
capped at ``AUTOTHROTTLE_MAX_DELAY``).
"""

from __future__ import annotations

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
        if parser is None or not hasattr(parser, "crawl_delay"):
            return
        agent = self.crawler.settings.get("USER_AGENT") or "*"
        try:
            delay = parser.crawl_delay(agent)
        except (TypeError, ValueError):
            return
        if delay:
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
