"""A worker's scheduler: scrapy-redis's, on the request queue every worker shares, with few round trips.

scrapy-redis's own scheduler makes a blocking Redis call on the reactor's thread for every request
pushed (``LPUSH``, and ``SADD`` for its duplicate filter) and every time Scrapy asks for the next
request (``RPOP``: after every response, most answers empty). ``LocalFirstScheduler`` keeps the same
queue (its key, its serializer, its FIFO order) and makes those calls rare:

- the requests this worker makes are held here first, up to ``SCHEDULER_LOCAL_MAX`` (default: twice
  the worker's CONCURRENT_REQUESTS, the backlog its spider keeps), and handed out before anything from
  Redis; the ones beyond go to the shared queue for every worker, many per ``LPUSH``, at the next
  ``next_request``;
- with nothing held, it pops up to ``SCHEDULER_POP_BATCH`` requests per ``RPOP``, and asks an empty
  shared queue again only ``SCHEDULER_EMPTY_WAIT`` seconds later (or once it pushed some itself);
- ``close`` (SIGTERM, the end of the crawl) puts what it still holds back at the head of the shared
  queue, in order, for the other workers.

A held request is as safe as one in flight: its job item is claimed, and the claim renewed while this
worker holds it (``spiders.queued``), so a worker killed with it loses nothing that the reaper does not
queue again once the claim's lease ends.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from scrapy import Request
from scrapy_redis.scheduler import Scheduler

__all__ = ["LocalFirstScheduler"]


class LocalFirstScheduler(Scheduler):  # type: ignore[misc]  # scrapy-redis has no type hints
    """scrapy-redis's scheduler holding this worker's own requests first (see the module docstring)."""

    local_max = 16
    pop_batch = 8
    empty_wait = 1.0

    def __init__(self, *args: Any, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        """scrapy-redis's arguments; ``clock`` times the wait before asking an empty queue again."""
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.held: collections.deque[Request] = collections.deque()
        self.overflow: list[Request] = []
        self.asked_empty_at: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> LocalFirstScheduler:
        """scrapy-redis's wiring, then SCHEDULER_LOCAL_MAX, SCHEDULER_POP_BATCH, SCHEDULER_EMPTY_WAIT."""
        scheduler: LocalFirstScheduler = super().from_crawler(crawler)
        settings = crawler.settings
        scheduler.local_max = max(0, settings.getint(
            "SCHEDULER_LOCAL_MAX", 2 * settings.getint("CONCURRENT_REQUESTS", cls.local_max)))
        scheduler.pop_batch = max(1, settings.getint("SCHEDULER_POP_BATCH", cls.pop_batch))
        scheduler.empty_wait = max(0.0, settings.getfloat("SCHEDULER_EMPTY_WAIT", cls.empty_wait))
        return scheduler

    def __len__(self) -> int:
        """Requests held here, waiting to be pushed, and in the shared queue."""
        return len(self.held) + len(self.overflow) + len(self.queue)

    def has_pending_requests(self) -> bool:
        """True while this worker holds requests, without a round trip; else asks the shared queue."""
        return bool(self.held or self.overflow) or len(self.queue) > 0

    def open(self, spider: Any) -> None:
        """scrapy-redis's open; a spider with a ``local_backlog`` attribute gets ``backlog`` there, one
        with ``local_requests`` gets ``local_requests``."""
        super().open(spider)
        if hasattr(spider, "local_backlog"):
            spider.local_backlog = self.backlog
        if hasattr(spider, "local_requests"):
            spider.local_requests = self.local_requests

    def backlog(self) -> int:
        """How many requests this worker holds (not counting the shared queue): no round trip."""
        return len(self.held) + len(self.overflow)

    def local_requests(self) -> list[Request]:
        """The requests this worker holds (not those in the shared queue), in order."""
        return [*self.held, *self.overflow]

    def enqueue_request(self, request: Request) -> bool:
        """Hold ``request`` here while there is room, else set it aside for the shared queue.
        A request not marked ``dont_filter`` goes through scrapy-redis's duplicate filter first."""
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        if len(self.held) < self.local_max:
            self.held.append(request)
        else:
            self.overflow.append(request)
        return True

    def next_request(self) -> Request | None:
        """A request held here, else one popped from the shared queue (a batch per round trip)."""
        self.flush()
        if not self.held:
            self.pop_shared()
        if not self.held:
            return None
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return self.held.popleft()

    def flush(self) -> None:
        """Push the requests set aside onto the shared queue, in one ``LPUSH``."""
        if not self.overflow:
            return
        pushed, self.overflow = self.overflow, []
        self.server.lpush(self.queue.key, *[self.queue._encode_request(r) for r in pushed])
        self.asked_empty_at = None  # it is not empty any more

    def pop_shared(self) -> None:
        """Pop up to ``pop_batch`` requests from the shared queue, unless it was empty a moment ago."""
        now = self.clock()
        if self.asked_empty_at is not None and now - self.asked_empty_at < self.empty_wait:
            return
        raw = self.server.rpop(self.queue.key, self.pop_batch) or []
        self.asked_empty_at = None if raw else now
        self.held.extend(self.queue._decode_request(data) for data in raw)

    def close(self, reason: str) -> None:
        """Put the requests held here back at the head of the shared queue (the next ones the other
        workers pop, in order), then scrapy-redis's close."""
        self.flush()
        if self.held:
            # FIFO: pushed at the left, popped at the right; the first held must end at the far right
            self.server.rpush(self.queue.key, *[self.queue._encode_request(r) for r in reversed(self.held)])
            self.held.clear()
        super().close(reason)
