"""The cluster's host slots on a real Redis: a request for a host whose slots this worker holds, one
being given back, tries once it is back (not before, to be refused; not a poll later); a slot another
worker holds is waited for by polling."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from scrapy import Request
from scrapy.http import Response

from spiders.cluster import SLOT_META, ClusterSlotsMiddleware, HostLimits, redis_client
from tests.workers.conftest import REDIS_URL


class GatedLimits(HostLimits):
    """One slot per host, whose give-backs wait for ``gate``; each answer is written to ``events``."""

    def __init__(self, prefix: str, events: list[str]) -> None:
        self.aserver = AsyncRedis.from_url(REDIS_URL)
        super().__init__(redis_client(REDIS_URL), self.aserver, prefix,
                         concurrency=1, delay=0.0, ttl=60.0, max_delay=60.0)
        self.events = events
        self.gate = asyncio.Event()

    async def try_acquire(self, host: str, token: str) -> float | None:
        wait = await super().try_acquire(host, token)
        self.events.append("refused" if wait is not None else "acquired")
        return wait

    async def release(self, host: str, token: str, **kwargs: Any) -> None:
        await self.gate.wait()
        await super().release(host, token, **kwargs)
        self.events.append("released")

    async def close(self) -> None:
        """Close both clients."""
        await self.aserver.aclose()
        self.server.close()


def answered(request: Request) -> Response:
    return Response(request.url, status=200, request=request)


def test_a_slot_of_this_worker_being_given_back_is_waited_for_then_tried_once(prefix: str) -> None:
    events: list[str] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(seconds)

    async def scenario() -> None:
        limits = GatedLimits(prefix, events)
        middleware = ClusterSlotsMiddleware(limits, sleep=sleep)
        first, second = Request("http://one.test/a"), Request("http://one.test/b")
        await middleware.process_request(first)
        await middleware.process_response(first, answered(first))  # its slot goes back meanwhile
        waiting = asyncio.ensure_future(middleware.process_request(second))
        await asyncio.sleep(0.2)  # time for a try, were one made before the slot is back
        events.append("gate opened")
        limits.gate.set()
        await waiting
        assert SLOT_META in second.meta
        await middleware.released()
        await limits.close()

    asyncio.run(scenario())
    assert slept == []  # no poll: the give-back was awaited, and no try made before it was done
    assert events == ["acquired", "gate opened", "released", "acquired"]


def test_a_slot_another_worker_holds_is_polled_for(prefix: str) -> None:
    events: list[str] = []
    slept: list[float] = []

    async def scenario() -> None:
        limits = GatedLimits(prefix, events)
        limits.gate.set()
        other = ClusterSlotsMiddleware(limits)
        held = Request("http://one.test/a")
        await other.process_request(held)

        async def sleep(seconds: float) -> None:  # the other worker's answer comes in meanwhile
            slept.append(seconds)
            await other.process_response(held, answered(held))
            await other.released()

        ours = ClusterSlotsMiddleware(limits, sleep=sleep)
        request = Request("http://one.test/b")
        await ours.process_request(request)
        assert SLOT_META in request.meta
        await limits.close()

    asyncio.run(scenario())
    assert len(slept) == 1
    assert events == ["acquired", "refused", "released", "acquired"]
