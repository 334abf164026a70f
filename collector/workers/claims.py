"""The worker's claims in the job ledger: the targets its spider popped are claimed in one statement.

The spider (``spiders.queued``) pops a few targets from Redis and asks the acceptor registered here
which of them it may fetch: the attempts this worker could claim (``storage.jobs.claim_many``) until
``now + lease``. A stale attempt (the item was answered, or re-enqueued as a later attempt) is dropped.
While a worker holds a target (in its scheduler, its downloader or its pipeline), its spider renews
the claim every ``lease / 3`` seconds (``renew``): a request that waits longer than a lease in a live
worker (for its host's slot, behind a Crawl-delay) is not re-queued for another worker to fetch again.
The lease covers the wait in the shared request queue (no worker holds it there) and the time after a
worker let it go (the archive's commit), and is what ends the claims of a worker that died or hung.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storage import jobs

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Claimer"]

log = logging.getLogger(__name__)


class Claimer:
    """Claims job items for one worker (``name``) for ``lease`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], name: str, lease: float,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sessions, self.name, self.lease = sessions, name, lease
        self.clock = clock or (lambda: datetime.now(UTC))

    def accept(self, attempts: list[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(job item, attempt)`` pairs this worker now holds (the others are stale: dropped)."""
        held = jobs.claim_many(self.sessions, attempts, self.name, now=self.clock(), lease=self.lease)
        if len(held) < len(attempts):
            log.info("dropped %d stale attempt(s): %s", len(attempts) - len(held),
                     sorted(set(attempts) - held)[:10])
        return held

    def renew(self, attempts: list[tuple[int, int]]) -> set[tuple[int, int]]:
        """Extend the claims of the ``(job item, attempt)`` pairs this worker holds (whoever claimed
        them) by a lease from now; the pairs still claimed."""
        return jobs.renew(self.sessions, attempts, now=self.clock(), lease=self.lease)
