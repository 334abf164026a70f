"""The capture spider: one request per target URL, one item per attempt (response or failure)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, cast

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

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
        """The Scrapy request of one target (``{"url": ..., "id": ...}``)."""
        return scrapy.Request(
            target["url"], callback=self.parse, errback=self.failed, dont_filter=True,
            meta={HOPS_KEY: [], TARGET_KEY: target, "collector_started": datetime.now(UTC)},
        )

    def parse(self, response: Response, **_: Any) -> Iterable[dict[str, Any]]:
        """The final response of a target: a captured item."""
        meta = response.meta
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
