"""Politeness shared by every capture worker through Redis (``collector worker``, issue 16).

Each worker's Scrapy keeps its own per-host slots, delay and AutoThrottle (``spiders.politeness``); on
their own, N workers would hit a host N times as hard. Here a host's limits live in Redis, under
``<prefix>:host:<host>:``:

- ``slots``: a sorted set of the requests in flight to the host, each a token scored by the time its
  lease ends (``ttl``: a worker killed mid-download gives its slot back when the lease ends). A
  request enters only while fewer than ``CONCURRENT_REQUESTS_PER_DOMAIN`` tokens are live.
- ``next``: the earliest time the next request may start (the delay: ``DOWNLOAD_DELAY``, raised to the
  host's ``Crawl-delay``, kept in ``delay``; after a 429 or 503 the back-off, doubled each time in
  ``backoff``, at least the ``Retry-After``, at most ``AUTOTHROTTLE_MAX_DELAY``).

Both are checked and taken in one Lua script, on Redis's clock (workers' clocks may differ).
robots.txt is fetched once per host per ``COLLECTOR_ROBOTS_TTL`` for the cluster: the first worker takes a
lock, fetches it and stores the body; the others wait for the body and parse it themselves.

Enabled when ``COLLECTOR_CLUSTER_PREFIX`` is set (``NotConfigured`` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from spiders.politeness import BACKOFF_STATUSES, retry_after_seconds
from spiders.robots import RobotsMiddleware, robots_head

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

__all__ = ["ClusterRobotsMiddleware", "ClusterSlotsMiddleware", "HostLimits", "redis_client"]

log = logging.getLogger(__name__)

SLOT_META = "collector_cluster_slot"
POLL = 0.05  # seconds between two tries for a full host's slot

# KEYS: slots, next, delay; ARGV: limit, token, ttl, base delay. Returns "" when the slot is taken,
# else the seconds to wait before trying again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return tostring(nxt - now) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return tostring(ARGV[5]) end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(ttl) + 1)
local delay = math.max(tonumber(ARGV[4]), tonumber(redis.call('GET', KEYS[3]) or '0'))
if delay > 0 then
  redis.call('SET', KEYS[2], tostring(now + delay), 'PX', math.ceil(delay * 1000) + 1000)
end
return ''
"""

# KEYS: slots, next, backoff; ARGV: token, back off (1/0), retry-after, max delay
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local wait = math.min(tonumber(ARGV[4]), math.max(1.0, tonumber(ARGV[3]),
                        2 * tonumber(redis.call('GET', KEYS[3]) or '0')))
  redis.call('SET', KEYS[3], tostring(wait), 'EX', math.ceil(10 * tonumber(ARGV[4])))
  local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
  if now + wait > nxt then
    redis.call('SET', KEYS[2], tostring(now + wait), 'PX', math.ceil(wait * 1000) + 1000)
  end
else
  redis.call('DEL', KEYS[3])
end
return 1
"""


def redis_client(url: str) -> Redis:
    """A Redis client on ``url`` (``redis://host:port/db``)."""
    from redis import Redis  # here: only a worker's crawl needs it

    return Redis.from_url(url)


class HostLimits:
    """A host's shared concurrency slots, delay and back-off (see the module's docstring).

    The scripts run on Redis's asyncio client (``aserver``): a request waiting for its host's slot
    never blocks the reactor's loop."""

    def __init__(self, server: Redis, aserver: AsyncRedis, prefix: str, *, concurrency: int,
                 delay: float, ttl: float, max_delay: float) -> None:
        self.server = server
        self.prefix = prefix
        self.concurrency = max(1, concurrency)
        self.delay = delay
        self.ttl = ttl
        self.max_delay = max_delay
        self._acquire = aserver.register_script(_ACQUIRE)
        self._release = aserver.register_script(_RELEASE)

    def key(self, host: str, name: str) -> str:
        """The Redis key ``name`` of ``host``."""
        return f"{self.prefix}:host:{host}:{name}"

    async def try_acquire(self, host: str, token: str) -> float | None:
        """Take a slot of ``host`` for ``token``: None when taken, else the seconds to wait first."""
        answer = await self._acquire(keys=[self.key(host, "slots"), self.key(host, "next"),
                                           self.key(host, "delay")],
                                     args=[self.concurrency, token, self.ttl, self.delay, POLL])
        text = answer.decode() if isinstance(answer, bytes) else str(answer or "")
        return float(text) if text else None

    async def release(self, host: str, token: str, *, status: int | None = None,
                      retry_after: float | None = None) -> None:
        """Give the slot back; a 429 or 503 answer pushes the host's next start back (back-off)."""
        backoff = status in BACKOFF_STATUSES
        await self._release(keys=[self.key(host, "slots"), self.key(host, "next"),
                                  self.key(host, "backoff")],
                            args=[token, "1" if backoff else "0", retry_after or 0.0, self.max_delay])

    def set_crawl_delay(self, host: str, delay: float) -> None:
        """Record the host's ``Crawl-delay`` (capped at the maximum delay) for every worker."""
        self.server.set(self.key(host, "delay"), str(min(delay, self.max_delay)), ex=86400)


def _limits(crawler: Crawler) -> HostLimits:
    settings = crawler.settings
    prefix = settings.get("COLLECTOR_CLUSTER_PREFIX")
    if not prefix:
        raise NotConfigured("COLLECTOR_CLUSTER_PREFIX is not set: politeness is per process")
    from redis.asyncio import Redis as AsyncRedis  # here: only a worker's crawl needs it

    url = settings.get("REDIS_URL")
    return HostLimits(redis_client(url), AsyncRedis.from_url(url), prefix,
                      concurrency=settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2),
                      delay=settings.getfloat("DOWNLOAD_DELAY", 0.0),
                      ttl=settings.getfloat("DOWNLOAD_TIMEOUT", 30.0) + 30.0,
                      max_delay=settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0))


class ClusterSlotsMiddleware:
    """Downloader middleware (next to the downloader): a request waits for a cluster-wide slot of its
    host and gives it back with the response or the failure."""

    def __init__(self, limits: HostLimits, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """``sleep`` waits before a full host's slot is tried again (none of this worker's own slots
        of the host being given back meanwhile)."""
        self.limits = limits
        self.sleep = sleep
        self.releasing: set[asyncio.Future[None]] = set()  # slots being given back
        self.releasing_by_host: dict[str, set[asyncio.Future[None]]] = {}
        self.held: dict[str, int] = {}  # slots this worker holds, per host (not being given back)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterSlotsMiddleware:
        """Wire from COLLECTOR_CLUSTER_PREFIX and REDIS_URL (and the politeness settings)."""
        middleware = cls(_limits(crawler))
        crawler.signals.connect(middleware._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(middleware.released, signal=signals.spider_closed)
        return middleware

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Wait for a slot of the request's host (and for the host's next allowed start)."""
        host = urlsplit(request.url).hostname or ""
        token = uuid.uuid4().hex
        giving_back = self.releasing_by_host.get(host)
        if giving_back and self.held.get(host, 0) + len(giving_back) >= self.limits.concurrency:
            # every slot of the host is this worker's, some on their way back (their responses are
            # in): a try now is refused for sure; one once the first is back is not (one Lua call)
            await asyncio.wait(set(giving_back), timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        while (wait := await self.limits.try_acquire(host, token)) is not None:
            wait = min(max(wait, 0.001), 1.0)
            if giving_back := self.releasing_by_host.get(host):
                # a slot of this worker's is on its way back: try again as soon as it is back rather
                # than a poll later; a slot is never taken earlier
                await asyncio.wait(set(giving_back), timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            else:
                await self.sleep(wait)
        request.meta[SLOT_META] = (host, token)
        self.held[host] = self.held.get(host, 0) + 1

    async def process_response(self, request: Request, response: Response,
                               spider: Spider | None = None) -> Response:
        """Give the slot back (and back off on 429/503)."""
        header = response.headers.get(b"Retry-After")
        await self._release(request, status=response.status,
                            retry_after=retry_after_seconds(header.decode("latin-1") if header else None))
        return response

    async def process_exception(self, request: Request, exception: Exception,
                                spider: Spider | None = None) -> None:
        """Give the slot back when the download failed."""
        await self._release(request)

    async def _release(self, request: Request, **kwargs: Any) -> None:
        """Give the slot back in the background: the response goes on without waiting for Redis (the
        slot stays taken a round trip longer, never shorter)."""
        slot = request.meta.pop(SLOT_META, None)
        if slot is not None:
            if (held := self.held.get(slot[0], 0) - 1) > 0:
                self.held[slot[0]] = held
            else:
                self.held.pop(slot[0], None)
            task = asyncio.ensure_future(self.limits.release(*slot, **kwargs))
            self.releasing.add(task)
            self.releasing_by_host.setdefault(slot[0], set()).add(task)
            task.add_done_callback(functools.partial(self._released_one, slot[0]))

    def _released_one(self, host: str, task: asyncio.Future[None]) -> None:
        self.releasing.discard(task)
        giving_back = self.releasing_by_host.get(host)
        if giving_back is not None:
            giving_back.discard(task)
            if not giving_back:
                del self.releasing_by_host[host]
        if not task.cancelled() and task.exception() is not None:  # the slot's lease ends it anyway
            log.warning("a host slot was not given back: %r", task.exception())

    async def released(self, *_: Any, **__: Any) -> None:
        """Wait for the slots being given back (when the spider closes)."""
        if self.releasing:
            await asyncio.gather(*self.releasing, return_exceptions=True)

    def _robots_parsed(self, robotparser: Any, request: Request, **_: Any) -> None:
        parser = getattr(robotparser, "rp", None)
        delay = None
        if parser is not None and hasattr(parser, "crawl_delay"):
            with contextlib.suppress(TypeError, ValueError):
                delay = parser.crawl_delay("collector")
        if delay:
            self.limits.set_crawl_delay(urlsplit(request.url).hostname or "", float(delay))


class ClusterRobotsMiddleware(RobotsMiddleware):
    """robots.txt fetched once per host per COLLECTOR_ROBOTS_TTL for the whole cluster (its body is
    kept in Redis; every worker parses it itself)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        prefix = crawler.settings.get("COLLECTOR_CLUSTER_PREFIX")
        self.server = redis_client(crawler.settings.get("REDIS_URL")) if prefix else None
        self.prefix = prefix
        self.ttl = crawler.settings.getint("COLLECTOR_ROBOTS_TTL", 3600)
        self.wait = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30.0) + 10.0

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """The parser of the request's host: from the cluster's copy of its robots.txt, else fetched
        (by one worker at a time) and shared."""
        url = urlparse_cached(request)
        netloc = url.netloc
        if self.server is None or netloc in self._parsers:
            return await super().robot_parser(request)
        self._parsers[netloc] = Deferred()
        robots_url = f"{url.scheme}://{netloc}/robots.txt"
        body_key, lock_key = f"{self.prefix}:robots:{robots_url}", f"{self.prefix}:robots-lock:{robots_url}"
        body = await self._cached(body_key, lock_key)
        if body is not None:
            fake = Response(robots_url, body=body, request=Request(robots_url, callback=NO_CALLBACK))
            await self._parse_robots(fake, netloc, request)
        else:
            robots = Request(robots_url, priority=self.DOWNLOAD_PRIORITY,
                             meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
            try:
                response = await self.crawler.engine.download_async(robots)
                self.server.set(body_key, robots_head(response.body), ex=self.ttl)
                await self._parse_robots(response, netloc, request)
            except Exception as exc:  # as Scrapy's: an unreachable robots.txt allows everything
                log.debug("robots.txt not fetched: %s: %s", robots_url, exc)
                self._robots_error(exc, netloc)
            finally:
                self.server.delete(lock_key)
            self._stats.inc_value("robotstxt/request_count")
        return await super().robot_parser(request)

    async def _cached(self, body_key: str, lock_key: str) -> bytes | None:
        """The cluster's copy of a robots.txt; None when this worker got the lock to fetch it."""
        assert self.server is not None
        waited = 0.0
        while True:
            body = self.server.get(body_key)
            if isinstance(body, bytes):
                return body
            if self.server.set(lock_key, "1", nx=True, ex=max(1, int(self.wait))):
                return None
            if waited > self.wait:  # the holder is gone: its lock expires, take it then
                waited = 0.0
            await asyncio.sleep(0.05)
            waited += 0.05
