"""Enqueueing work for the capture workers, and the Redis keys they share.

An enqueue is a job in the database (``storage.jobs``) and one JSON message per URL on the Redis list
the workers pop (``QueueKeys.start``). The job's rows are committed first: a message that never reaches
Redis (or is lost with a worker) leaves its item queued, and the reaper puts it back
(``collector.workers.reaper``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from collector.capture.run import check_url, skipped_result
from collector.config import Config
from collector.errors import CollectorError, InputError
from storage import jobs
from storage.database import connect
from storage.jobs import JobItemRecord

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Enqueued", "QueueKeys", "connect_redis", "enqueue", "push"]

SPIDER = "capture-queue"  # spiders.queued.QueuedCaptureSpider.name: scrapy-redis names its keys with it


@dataclass(frozen=True)
class QueueKeys:
    """The Redis keys of one archive's queue (every one starts with ``redis_prefix``)."""

    prefix: str

    @property
    def start(self) -> str:
        """The list of targets (JSON) that workers pop."""
        return f"{self.prefix}:{SPIDER}:start"

    @property
    def requests(self) -> str:
        """scrapy-redis's request queue (its SCHEDULER_QUEUE_KEY once the spider's name is in)."""
        return f"{self.prefix}:{SPIDER}:requests"

    @property
    def dupefilter(self) -> str:
        """scrapy-redis's set of request fingerprints."""
        return f"{self.prefix}:{SPIDER}:dupefilter"


@dataclass
class Enqueued:
    """What an enqueue did: its job, the items queued and the inputs skipped (as result lines)."""

    job_id: int | None
    items: list[JobItemRecord] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The enqueue's line: ``job``, ``queued``, ``skipped``."""
        return {"job": self.job_id, "queued": len(self.items), "skipped": len(self.skipped)}


def connect_redis(config: Config) -> Redis:
    """A Redis client on ``config.redis_url``; CollectorError naming the URL when it does not answer."""
    from redis import Redis  # here: only queue commands need it
    from redis.exceptions import RedisError

    server = Redis.from_url(config.redis_url)
    try:
        server.ping()
    except RedisError as exc:
        raise CollectorError(f"Redis at {config.redis_url} does not answer ({exc}): start it or set "
                             "redis_url (COLLECTOR_REDIS_URL)") from exc
    return server


def push(server: Redis, keys: QueueKeys, items: Sequence[JobItemRecord], chunk: int = 1000) -> None:
    """Put each item's message on the workers' list (a pipeline per ``chunk`` messages)."""
    for start in range(0, len(items), chunk):
        server.rpush(keys.start, *[json.dumps(item.message()) for item in items[start:start + chunk]])


def enqueue(config: Config, urls: Iterable[str], *, contexts: dict[str, dict[str, Any]] | None = None,
            kind: str = "capture", source: str | None = None,
            sessions: sessionmaker[Session] | None = None, server: Redis | None = None,
            spec: dict[str, Any] | None = None, stage: str | None = None) -> Enqueued:
    """Validate ``urls`` (invalid ones become skipped result lines, as in a local capture), record a job
    of the others and queue them for the workers. Nothing is recorded when no URL is valid. ``spec`` and
    ``stage``: a check job's (``collector.workers.checkjobs``)."""
    done = Enqueued(job_id=None)
    targets: list[tuple[str, dict[str, Any] | None]] = []
    seen: set[str] = set()
    for given in urls:
        try:
            url = check_url(given)
        except InputError as exc:
            done.skipped.append(skipped_result(given, str(exc)))
            continue
        if url not in seen:
            seen.add(url)
            targets.append((url, (contexts or {}).get(given)))
    if not targets:
        return done
    server = server or connect_redis(config)
    owned = sessions is None
    sessions = sessions or connect(config.db_url)
    try:
        done.job_id, done.items = jobs.create_job(sessions, kind, targets, now=datetime.now(UTC),
                                                  source=source, spec=spec, stage=stage)
    finally:
        if owned:
            sessions.kw["bind"].dispose()
    push(server, QueueKeys(config.redis_prefix), done.items)
    return done
