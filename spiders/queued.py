"""The capture spider of a worker: its targets come from a Redis list, for as long as it runs.

``collector capture --queue`` pushes one JSON message per URL (``{"url": ..., "context": {...}}``, the
context naming the job item and its attempt) onto ``<prefix>:capture:start``. Each worker's spider pops
them in small batches whenever the shared request queue (scrapy-redis's scheduler, on Redis too) runs
low, and turns each into the capture spider's usual request. The request then goes through
scrapy-redis's duplicate filter (``AttemptDupeFilter``: keyed by the job item and attempt, so an item
the reaper re-enqueues is fetched again) into the shared queue, which every worker pulls from.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter

from spiders.capture import TARGET_KEY, CaptureSpider, _scheduler
from spiders.cluster import redis_client

__all__ = ["AttemptDupeFilter", "QueuedCaptureSpider", "attempt_fingerprint"]

log = logging.getLogger(__name__)


def attempt_fingerprint(request: Request) -> str | None:
    """The fingerprint of a request for a job item: its item, attempt, method and URL (a redirect's
    next request is another URL of the same attempt); None for a request of no job item."""
    target = request.meta.get(TARGET_KEY) or {}
    context = target.get("context") or {}
    if context.get("job_item") is None:
        return None
    text = f"{context['job_item']}:{context.get('attempt', 1)}:{request.method}:{request.url}"
    return hashlib.sha1(text.encode()).hexdigest()


class AttemptDupeFilter(RFPDupeFilter):  # type: ignore[misc]  # scrapy-redis has no type hints
    """scrapy-redis's duplicate filter, with a job item's attempt in the fingerprint: an attempt is
    fetched once by the cluster, and the reaper's next attempt is not a duplicate of it."""

    def request_fingerprint(self, request: Request) -> str:
        """The attempt's fingerprint (``attempt_fingerprint``), or scrapy-redis's own."""
        return attempt_fingerprint(request) or str(super().request_fingerprint(request))


class QueuedCaptureSpider(CaptureSpider):
    """The capture spider with its targets popped from the Redis list ``redis_key`` until it is stopped."""

    name = "capture-queue"

    def __init__(self, redis_key: str = "", poll: float = 0.2, **kwargs: Any) -> None:
        """``redis_key``: the list of JSON targets; ``poll``: seconds between two looks at an empty list."""
        super().__init__(**kwargs)
        self.redis_key = redis_key
        self.poll = poll
        self.server: Any = None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Requests for the targets popped from the list, whenever the shared queue runs low; never ends
        (the worker stops the crawl)."""
        if not self.redis_key:
            raise ValueError("QueuedCaptureSpider needs redis_key (the Redis list of targets)")
        self.server = redis_client(self.crawler.settings.get("REDIS_URL"))
        limit = self.backlog_limit()
        while True:
            scheduler = _scheduler(self)
            room = limit - (len(scheduler) if scheduler is not None else 0)
            # a few at a time: a target popped is in this process only until its request is queued
            # (and its job item claimed); Scrapy takes the next one when its downloader has room
            batch = self.server.lpop(self.redis_key, min(room, 4)) if room > 0 else None
            if not batch:
                await asyncio.sleep(self.poll)
                continue
            for raw in batch:
                try:
                    target = json.loads(raw)
                    url = target["url"]
                except (ValueError, KeyError, TypeError) as exc:  # bad input is named, the rest goes on
                    log.error("queue %s: a message that is not a target (%s): %r", self.redis_key, exc,
                              raw[:200])
                    continue
                yield self.request_for({"url": url, "context": target.get("context") or {}})

    def backlog_limit(self) -> int:
        """How many requests may wait in the shared queue: twice the worker's concurrency."""
        return max(8, 2 * self.crawler.settings.getint("CONCURRENT_REQUESTS", 16))

    def request_for(self, target: dict[str, Any]) -> scrapy.Request:
        """The capture spider's request, through the duplicate filter (keyed by the attempt)."""
        return super().request_for(target).replace(dont_filter=False)
