"""A worker's spider hands each batch it takes from Redis to the scheduler whole: a worker stopped
(SIGTERM) right after it took a batch leaves none of it outside Redis and the scheduler (the scheduler
gives what it holds back to the shared queue when it closes: tests/spiders/test_sharedqueue.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from scrapy import Request
from scrapy.utils.test import get_crawler

from spiders.queued import QueuedCaptureSpider
from tests.workers.conftest import REDIS_URL, redis_or_skip

TARGETS = 6


class Engine:
    """The part of Scrapy's engine the spider uses here: ``crawl``, recording what it was given."""

    def __init__(self) -> None:
        self.scheduled: list[Request] = []

    def crawl(self, request: Request) -> None:
        """Take ``request`` into the scheduler (here: the list)."""
        self.scheduled.append(request)


async def _stop_after_the_first_request(spider: QueuedCaptureSpider, engine: Engine) -> int:
    """Run the spider's intake until a first request is handed over (scheduled or yielded), then
    cancel it as Scrapy does when a worker stops; how many requests were handed over."""
    intake = spider.start().__aiter__()
    step: asyncio.Future[Any] = asyncio.ensure_future(anext(intake))
    for _ in range(500):
        await asyncio.sleep(0.01)
        if step.done() or engine.scheduled:
            break
    yielded = int(step.done() and not step.cancelled() and step.exception() is None)
    step.cancel()
    await asyncio.gather(step, return_exceptions=True)
    await intake.aclose()
    return len(engine.scheduled) + yielded


def test_a_taken_batch_is_in_the_scheduler_before_the_spider_can_be_stopped() -> None:
    server = redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    start_key = f"{prefix}:capture-queue:start"
    try:
        server.rpush(start_key, *[json.dumps({"url": f"http://a.test/{i}", "context": {}})
                                  for i in range(TARGETS)])
        crawler = get_crawler(QueuedCaptureSpider, {
            "REDIS_URL": REDIS_URL, "CONCURRENT_REQUESTS": 4,
            "SCHEDULER_QUEUE_KEY": f"{prefix}:capture-queue:requests"})
        spider = QueuedCaptureSpider.from_crawler(crawler, redis_key=start_key, batch=TARGETS)
        engine = Engine()
        crawler.engine = engine  # type: ignore[assignment]
        handed = asyncio.run(_stop_after_the_first_request(spider, engine))
        # the whole batch left Redis in one pop; every target of it was handed over, none was lost
        # in the spider between two requests (as when they were yielded one per reactor turn)
        assert server.llen(start_key) == 0
        assert handed == TARGETS
        assert [r.url for r in engine.scheduled] == [f"http://a.test/{i}" for i in range(TARGETS)]
        assert all(r.meta.get("is_start_request") for r in engine.scheduled)
    finally:
        server.delete(start_key)
        server.close()
