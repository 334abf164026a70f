"""scrapy-redis's scheduler, with a claim in the job ledger for every request that enters it.

The request queue and the duplicate filter are scrapy-redis's, on Redis, shared by every worker. The
worker whose spider popped a job item's target claims it (``storage.jobs.claim``) as its request enters
the shared queue: from then on its lease covers the wait in the queue and the download (by whichever
worker pulls it). A stale attempt (the item was answered, or re-enqueued as a later attempt) is
dropped there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy_redis.scheduler import Scheduler

from spiders.capture import TARGET_KEY
from storage import jobs

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Claimer", "LedgerScheduler", "register_claimer"]

log = logging.getLogger(__name__)


class Claimer:
    """Claims job items for one worker (``name``) for ``lease`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], name: str, lease: float,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sessions, self.name, self.lease = sessions, name, lease
        self.clock = clock or (lambda: datetime.now(UTC))

    def claim(self, item_id: int, attempt: int) -> bool:
        """Whether this worker now holds that attempt of the item."""
        return jobs.claim(self.sessions, item_id, attempt, self.name, now=self.clock(), lease=self.lease)


# Scrapy deep-copies its settings: the live claimer is passed by key
_CLAIMERS: dict[str, Claimer] = {}


def register_claimer(claimer: Claimer) -> str:
    """Make ``claimer`` reachable from a crawl; put the returned key in COLLECTOR_CLAIMER."""
    key = f"claimer-{id(claimer)}"
    _CLAIMERS[key] = claimer
    return key


class LedgerScheduler(Scheduler):  # type: ignore[misc]  # scrapy-redis has no type hints
    """scrapy-redis's Scheduler; each job item's request is claimed as it enters the queue."""

    claimer: Claimer | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LedgerScheduler:
        """scrapy-redis's wiring, and the claimer named by COLLECTOR_CLAIMER."""
        scheduler: LedgerScheduler = super().from_crawler(crawler)
        scheduler.claimer = _CLAIMERS.get(crawler.settings.get("COLLECTOR_CLAIMER") or "")
        return scheduler

    def enqueue_request(self, request: Request) -> bool:
        """Claim the request's job item for this worker, then queue the request (scrapy-redis: through
        the duplicate filter); a stale attempt is dropped (False)."""
        context: dict[str, Any] = (request.meta.get(TARGET_KEY) or {}).get("context") or {}
        if self.claimer is not None and context.get("job_item") is not None and not self.claimer.claim(
                int(context["job_item"]), int(context.get("attempt", 1))):
            log.info("dropped %s: attempt %s of job item %s is no longer wanted", request.url,
                     context.get("attempt"), context["job_item"])
            if self.stats:
                self.stats.inc_value("collector/stale_attempts")
            return False
        return bool(super().enqueue_request(request))
