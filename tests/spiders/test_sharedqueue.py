"""The worker's scheduler on a real Redis: its own requests first, the rest shared, FIFO order kept,
what it holds given back on close, an empty queue asked again only after the wait; a job item's request
skips the duplicate filter (the ledger dedups), any other request goes through it."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.utils.test import get_crawler

from spiders.queued import QueuedCaptureSpider, window_keys
from spiders.sharedqueue import LocalFirstScheduler
from tests.workers.conftest import REDIS_URL


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def open_scheduler(prefix: str, clock: Clock | None = None, **settings: Any) -> LocalFirstScheduler:
    """A scheduler opened on ``prefix``'s shared queue, as a worker's crawl opens it."""
    crawler = get_crawler(QueuedCaptureSpider, {
        "REDIS_URL": REDIS_URL, "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.FifoQueue",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:%(spider)s:dupefilter",
        "DUPEFILTER_CLASS": "spiders.queued.AttemptDupeFilter", **settings})
    spider = QueuedCaptureSpider.from_crawler(crawler, redis_key=f"{prefix}:start")
    scheduler = LocalFirstScheduler.from_crawler(crawler)
    if clock is not None:
        scheduler.clock = clock
    scheduler.open(spider)
    return scheduler


def shut(*schedulers: LocalFirstScheduler) -> None:
    """Close each scheduler as a crawl does, then its Redis connections."""
    for scheduler in schedulers:
        scheduler.close("finished")
        scheduler.server.close()
        scheduler.df.server.close()


def request(n: int) -> scrapy.Request:
    return scrapy.Request(f"http://127.0.0.1:1/page/{n}", dont_filter=True)


def drain(scheduler: LocalFirstScheduler) -> list[str]:
    urls = []
    while (next_one := scheduler.next_request()) is not None:
        urls.append(next_one.url)
    return urls


def test_own_requests_are_held_without_touching_the_shared_queue(prefix: str) -> None:
    scheduler = open_scheduler(prefix, SCHEDULER_LOCAL_MAX=8)
    for n in range(5):
        assert scheduler.enqueue_request(request(n))
    assert scheduler.server.llen(scheduler.queue.key) == 0
    assert scheduler.backlog() == 5
    assert scheduler.spider.local_backlog() == 5  # the spider sees the backlog the scheduler holds
    assert drain(scheduler) == [request(n).url for n in range(5)]
    shut(scheduler)


def test_beyond_the_local_room_requests_go_to_the_shared_queue_in_order(prefix: str) -> None:
    scheduler = open_scheduler(prefix, SCHEDULER_LOCAL_MAX=2, SCHEDULER_POP_BATCH=2)
    other = open_scheduler(prefix, SCHEDULER_LOCAL_MAX=2, SCHEDULER_POP_BATCH=1)
    for n in range(6):
        scheduler.enqueue_request(request(n))
    first = scheduler.next_request()  # pushes the four set aside, in one LPUSH
    assert first is not None and first.url == request(0).url
    assert other.server.llen(other.queue.key) == 4
    # another worker takes the oldest of the shared ones; this one keeps the FIFO order of the rest
    taken = other.next_request()
    assert taken is not None and taken.url == request(2).url
    assert drain(scheduler) == [request(n).url for n in (1, 3, 4, 5)]
    shut(scheduler, other)


def test_close_puts_what_it_holds_back_at_the_head_of_the_shared_queue(prefix: str) -> None:
    stopping = open_scheduler(prefix, SCHEDULER_LOCAL_MAX=8)
    other = open_scheduler(prefix, SCHEDULER_LOCAL_MAX=8)
    other.flush()
    other.server.lpush(other.queue.key, other.queue._encode_request(request(99)))  # queued before
    for n in range(3):
        stopping.enqueue_request(request(n))
    stopping.close("shutdown")
    stopping.server.close()
    stopping.df.server.close()
    assert drain(other) == [request(n).url for n in (0, 1, 2, 99)]
    shut(other)


def test_an_empty_shared_queue_is_asked_again_only_after_the_wait(prefix: str) -> None:
    clock = Clock()
    waiting = open_scheduler(prefix, clock, SCHEDULER_EMPTY_WAIT=1.5)
    other = open_scheduler(prefix, SCHEDULER_LOCAL_MAX=0)
    assert waiting.next_request() is None  # asked: empty
    other.enqueue_request(request(7))
    other.flush()
    assert waiting.next_request() is None  # not asked again yet
    clock.now += waiting.empty_wait
    found = waiting.next_request()
    assert found is not None and found.url == request(7).url
    shut(waiting, other)


def test_a_job_items_request_skips_the_duplicate_filter_any_other_goes_through(prefix: str) -> None:
    scheduler = open_scheduler(prefix)
    spider = scheduler.spider
    job = {"url": "http://127.0.0.1:1/a", "context": {"job_item": 4, "attempt": 1}}
    plain = {"url": "http://127.0.0.1:1/b", "context": {}}
    assert scheduler.enqueue_request(spider.request_for(job))
    assert scheduler.enqueue_request(spider.request_for(plain))
    assert scheduler.enqueue_request(spider.request_for(job))  # the ledger, not the filter, dedups
    assert not scheduler.enqueue_request(spider.request_for(plain))
    windows = list(scheduler.server.scan_iter(window_keys(f"{prefix}:capture-queue:dupefilter")))
    assert sum(scheduler.server.scard(key) for key in windows) == 1
    shut(scheduler)
