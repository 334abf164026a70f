"""The reaper: URLs whose worker's lease expired (the worker died or hung) go back on the queue.

Every worker runs it every ``reap_interval`` seconds (so does the daemon with ``dispatch = "queue"``).
An item still *queued* long after it was queued (``job_lease``) is put back too, but only while the
queue is empty: its message was lost between Redis and a claim (a worker killed in between).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from collector.workers.periodic import Periodic
from collector.workers.queue import QueueKeys, push
from storage import jobs

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Reaper", "reap_once"]

log = logging.getLogger(__name__)


def reap_once(sessions: sessionmaker[Session], server: Redis, keys: QueueKeys, *, lease: float,
              now: datetime | None = None) -> int:
    """Re-enqueue what expired; return how many items went back on the queue."""
    now = now or datetime.now(UTC)
    idle = server.llen(keys.start) == 0 and server.llen(keys.requests) == 0
    items = jobs.reap(sessions, now=now, queued_before=now - timedelta(seconds=lease) if idle else None)
    if items:
        push(server, keys, items)
        log.warning("reaper: %d URL(s) whose lease expired are queued again (attempt %s)", len(items),
                    ", ".join(sorted({str(i.attempt) for i in items})))
    return len(items)


class Reaper(Periodic):
    """``reap_once`` every ``interval`` seconds in a thread, until ``stop``."""

    def __init__(self, sessions: sessionmaker[Session], server: Redis, keys: QueueKeys, *,
                 lease: float, interval: float) -> None:
        super().__init__("collector-reaper", self.reap, interval=interval)
        self.sessions, self.server, self.keys, self.lease = sessions, server, keys, lease

    def reap(self) -> int:
        """One pass: ``reap_once``."""
        return reap_once(self.sessions, self.server, self.keys, lease=self.lease)
