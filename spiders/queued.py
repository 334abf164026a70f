"""The capture spider of a worker: its targets come from a Redis list, for as long as it runs.

``collector capture --queue`` pushes one JSON message per URL (``{"url": ..., "context": {...}}``, the
context naming the job item and its attempt) onto ``<prefix>:capture-queue:start``. Each worker's spider
takes them in batches (one script: pop no more than the room its backlog has left) whenever it runs low,
lets the worker claim them (an acceptor: ``register_acceptor``; the spider knows nothing of the job
ledger), and turns each one accepted into the capture spider's usual request. Every
``COLLECTOR_RENEW_INTERVAL`` seconds it hands the attempts this worker holds (its scheduler's, its
downloader's, its scraper's: ``held_attempts``) to a renewer (``register_renewer``), which extends their
claims: a request that waits in a live worker longer than a claim's lease (for its host's slot, behind a
Crawl-delay) is not re-queued for another worker to fetch a second time. The request goes to the
worker's scheduler (``spiders.sharedqueue.LocalFirstScheduler``: held by this worker first, the rest on
scrapy-redis's shared queue, which every worker pulls from). A job item's request skips scrapy-redis's
duplicate filter: each attempt is one message, popped by one worker and claimed by it, so the ledger
already makes it unique (``AttemptDupeFilter`` still keys any other request by its attempt).
A request of a job that does go through the filter (not an attempt's own) is looked up in a set of the
job's own (``job_dupefilter_key``), which the workers let expire once the job is finished
(``collector.workers.finisher``). A request of no job is looked up in time-bucketed sets
(``window_keys``): one per ``window`` seconds of Redis's clock, each expiring once the next window is
over, so a duplicate is filtered for at least ``window`` seconds (at most twice that) and the cluster's
own fingerprints never pile up.

A check's targets (context ``check`` or ``probe``, from ``collector check --queue``) are retried as a
local check retries them: at least twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import scrapy
from scrapy import Request, signals
from scrapy_redis.dupefilter import RFPDupeFilter

from spiders.capture import TARGET_KEY, CaptureSpider

__all__ = [
    "CHECK_RETRY_TIMES",
    "DUPEFILTER_WINDOW",
    "AttemptDupeFilter",
    "QueuedCaptureSpider",
    "attempt_fingerprint",
    "job_dupefilter_key",
    "register_acceptor",
    "register_renewer",
    "window_keys",
]

log = logging.getLogger(__name__)

CHECK_RETRY_TIMES = 2  # the least retries of a check's fetch (collector.check.run does the same)


DUPEFILTER_WINDOW = 86400.0  # seconds a request of no job is filtered (config.dupefilter_window)

# KEYS: the filter's key (a prefix); ARGV: fingerprint, window (whole seconds). On Redis's clock: looks
# the fingerprint up in the window before this one, adds it to this window's set, which expires once
# the next window is over; 1 when it was seen.
_SEEN = """
local window = tonumber(ARGV[2])
local bucket = math.floor(tonumber(redis.call('TIME')[1]) / window)
local current = KEYS[1] .. ':w:' .. bucket
local seen = redis.call('SISMEMBER', KEYS[1] .. ':w:' .. (bucket - 1), ARGV[1])
if redis.call('SADD', current, ARGV[1]) == 0 then seen = 1 end
if redis.call('TTL', current) < 0 then
  redis.call('EXPIREAT', current, (bucket + 2) * window)
end
return seen
"""


def window_keys(key: str) -> str:
    """The pattern of the time-bucketed sets of the requests of no job, beside scrapy-redis's ``key``."""
    return f"{key}:w:*"


def job_dupefilter_key(key: str, job: object) -> str:
    """The duplicate filter's set of one job's fingerprints, beside scrapy-redis's ``key``."""
    return f"{key}:job:{job}"


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
    fetched once by the cluster, and the reaper's next attempt is not a duplicate of it. A request of no
    job is filtered for ``window`` seconds (setting COLLECTOR_DUPEFILTER_WINDOW)."""

    def __init__(self, server: Any, key: str, debug: bool = False,
                 window: float = DUPEFILTER_WINDOW) -> None:
        super().__init__(server, key, debug)
        self.window = max(1, int(window))
        self._seen = server.register_script(_SEEN)

    @classmethod
    def from_spider(cls, spider: scrapy.Spider) -> AttemptDupeFilter:
        """scrapy-redis's filter of the spider's key, with the window of its settings."""
        made = super().from_spider(spider)
        return cls(made.server, made.key, made.debug,
                   spider.settings.getfloat("COLLECTOR_DUPEFILTER_WINDOW", DUPEFILTER_WINDOW))

    def request_fingerprint(self, request: Request) -> str:
        """The attempt's fingerprint (``attempt_fingerprint``), or scrapy-redis's own."""
        return attempt_fingerprint(request) or str(super().request_fingerprint(request))

    def request_seen(self, request: Request) -> bool:
        """Whether the cluster saw this request; a job's request is looked up in the job's own set."""
        job = ((request.meta.get(TARGET_KEY) or {}).get("context") or {}).get("job")
        fingerprint = self.request_fingerprint(request)
        if job is None:
            return bool(self._seen(keys=[self.key], args=[fingerprint, self.window]))
        return int(self.server.sadd(job_dupefilter_key(self.key, job), fingerprint)) == 0


# KEYS: the targets' list, the shared request queue; ARGV: room, batch. Pops at most ``batch`` targets
# and no more than the room left once the shared queue's requests are counted: one round trip.
_TAKE = """
local room = math.min(tonumber(ARGV[1]) - redis.call('LLEN', KEYS[2]), tonumber(ARGV[2]))
if room <= 0 then return false end
return redis.call('LPOP', KEYS[1], room)
"""

# Scrapy deep-copies its settings: the live acceptor is passed by key (COLLECTOR_ACCEPT)
Acceptor = Callable[[list[tuple[int, int]]], set[tuple[int, int]]]
_ACCEPTORS: dict[str, Acceptor] = {}
_RENEWERS: dict[str, Acceptor] = {}


def register_acceptor(accept: Acceptor) -> str:
    """Make ``accept`` reachable from a crawl; put the returned key in COLLECTOR_ACCEPT. It is given the
    ``(job item, attempt)`` pairs of the targets just popped and returns those this worker may fetch
    (it runs in a thread: it may block)."""
    key = f"acceptor-{id(accept)}"
    _ACCEPTORS[key] = accept
    return key


def register_renewer(renew: Acceptor) -> str:
    """Make ``renew`` reachable from a crawl; put the returned key in COLLECTOR_RENEW (and the seconds
    between two renewals in COLLECTOR_RENEW_INTERVAL). It is given the ``(job item, attempt)`` pairs
    the worker holds and extends their claims (it runs in a thread: it may block)."""
    key = f"renewer-{id(renew)}"
    _RENEWERS[key] = renew
    return key


class QueuedCaptureSpider(CaptureSpider):
    """The capture spider with its targets popped from the Redis list ``redis_key`` until it is stopped."""

    name = "capture-queue"
    # the requests this worker holds outside the shared queue; the scheduler sets it
    # (spiders.sharedqueue.LocalFirstScheduler), scrapy-redis's own holds none
    local_backlog: Callable[[], int] = staticmethod(lambda: 0)
    local_requests: Callable[[], list[Request]] = staticmethod(list)

    def __init__(self, redis_key: str = "", poll: float = 0.2, batch: int = 16, **kwargs: Any) -> None:
        """``redis_key``: the list of JSON targets; ``poll``: seconds between two looks at an empty
        list; ``batch``: most targets popped at once."""
        super().__init__(**kwargs)
        self.redis_key = redis_key
        self.poll = poll
        self.batch = batch
        self._renewing: asyncio.Future[None] | None = None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Requests for the targets popped from the list (those the acceptor takes: COLLECTOR_ACCEPT),
        whenever the worker's backlog runs low; never ends (the worker stops the crawl).

        Redis is read with its asyncio client (the reactor's loop goes on meanwhile), the acceptor runs
        in a thread: nothing here blocks the downloads in flight.
        """
        if not self.redis_key:
            raise ValueError("QueuedCaptureSpider needs redis_key (the Redis list of targets)")
        from redis.asyncio import Redis  # here: Scrapy imports every spider module

        settings = self.crawler.settings
        accept = _ACCEPTORS.get(settings.get("COLLECTOR_ACCEPT") or "")
        # named for the worker: `redis-cli CLIENT LIST` shows which workers are taking work
        server = Redis.from_url(settings.get("REDIS_URL"),
                                client_name=settings.get("COLLECTOR_WORKER_NAME") or None)
        take = server.register_script(_TAKE)
        limit = self.backlog_limit()
        queue_key = settings.get("SCHEDULER_QUEUE_KEY", "%(spider)s:requests") % {"spider": self.name}
        self._start_renewing()
        try:
            while True:
                room = limit - self.local_backlog()
                raw = await take(keys=[self.redis_key, queue_key], args=[room, self.batch]) \
                    if room > 0 else None
                targets = self._targets(list(raw) if isinstance(raw, list) else [])
                attempts = [a for a in map(_attempt, targets) if a is not None]
                if accept is not None and attempts:
                    wanted = await asyncio.to_thread(accept, attempts)
                    targets = [t for t in targets if _attempt(t) is None or _attempt(t) in wanted]
                for target in targets:
                    # the whole batch to the scheduler at once, not one per reactor turn: a worker
                    # stopped (SIGTERM) between two yields dropped the rest of a batch it had taken from
                    # Redis and claimed; held by the scheduler, they go back to the shared queue when it
                    # closes
                    request = self.request_for(target)
                    if not self.schedule(request):
                        yield request
                if not raw:
                    await asyncio.sleep(self.poll)
        finally:
            self.stop_renewing()
            await server.aclose()

    def _start_renewing(self) -> None:
        """Renew the claims held every COLLECTOR_RENEW_INTERVAL seconds, until the spider closes."""
        settings = self.crawler.settings
        renew = _RENEWERS.get(settings.get("COLLECTOR_RENEW") or "")
        interval = settings.getfloat("COLLECTOR_RENEW_INTERVAL", 0.0)
        if renew is None or interval <= 0 or self._renewing is not None:
            return
        self._renewing = asyncio.ensure_future(self._renew_every(renew, interval))
        self.crawler.signals.connect(self.stop_renewing, signal=signals.spider_closed)

    def stop_renewing(self, *_: Any, **__: Any) -> None:
        """No more renewals (the spider closes: what it held is in the shared queue or finished)."""
        if self._renewing is not None:
            self._renewing.cancel()

    async def _renew_every(self, renew: Acceptor, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            held = self.held_attempts()
            if not held:
                continue
            try:
                await asyncio.to_thread(renew, sorted(held))
            except Exception:  # the next turn tries again; the lease is what is left meanwhile
                log.exception("the claims of %d held attempt(s) were not renewed", len(held))

    def held_attempts(self) -> set[tuple[int, int]]:
        """The ``(job item, attempt)`` pairs of the requests this worker holds: in its scheduler (not
        the shared queue), its downloader (waiting for a host's slot included) and its scraper (the
        callback and the pipeline). Read on the reactor's thread."""
        requests = list(self.local_requests())
        engine = getattr(self.crawler, "engine", None)
        if engine is not None:
            requests.extend(engine.downloader.active)
            slot = engine.scraper.slot
            if slot is not None:
                requests.extend(slot.active)
                requests.extend(request for _, request, _ in slot.queue)
        held = (_attempt(request.meta.get(TARGET_KEY) or {}) for request in requests)
        return {attempt for attempt in held if attempt is not None}

    def _targets(self, raw: list[Any]) -> list[dict[str, Any]]:
        targets = []
        for message in raw:
            try:
                target = json.loads(message)
                targets.append(self._target(str(target["url"]), target.get("context") or {}))
            except (ValueError, KeyError, TypeError) as exc:  # bad input is named, the rest goes on
                log.error("queue %s: a message that is not a target (%s): %r", self.redis_key, exc,
                          message[:200])
        return targets

    def _target(self, url: str, context: dict[str, Any]) -> dict[str, Any]:
        """A message's target. A check's context may name the mode of its baseline capture
        (``collector check --queue``): followed under this worker's ``browser = "auto"``, as a local
        check follows it; ``always`` and ``never`` decide for every URL."""
        target: dict[str, Any] = {"url": url, "context": context}
        if context.get("mode") in ("http", "browser") and self.browser_setting == "auto":
            target["mode"] = context["mode"]
            target["mode_reason"] = context.get("mode_reason")
        return target

    def backlog_limit(self) -> int:
        """How many requests may wait for this worker (held by its scheduler, or in the shared queue):
        twice the worker's concurrency."""
        return max(8, 2 * self.crawler.settings.getint("CONCURRENT_REQUESTS", 16))

    def request_for(self, target: dict[str, Any]) -> scrapy.Request:
        """The capture spider's request. A job item's skips the duplicate filter: the job ledger already
        makes each attempt one message, popped by one worker and claimed by it; any other request goes
        through the filter. A check's is retried at least ``CHECK_RETRY_TIMES`` times, as a local
        check's."""
        request = super().request_for(target).replace(dont_filter=_attempt(target) is not None)
        context = target.get("context") or {}
        if context.get("check") or context.get("probe"):
            request.meta["max_retry_times"] = max(
                CHECK_RETRY_TIMES, self.crawler.settings.getint("RETRY_TIMES", 0))
        return request


def _attempt(target: dict[str, Any]) -> tuple[int, int] | None:
    context = target.get("context") or {}
    if context.get("job_item") is None:
        return None
    return int(context["job_item"]), int(context.get("attempt", 1))
