"""The worker's claims in the job ledger: the targets its spider popped are claimed in one statement.

The spider (``spiders.queued``) pops a few targets from Redis and asks the acceptor registered here
which of them it may fetch: the attempts this worker could claim (``storage.jobs.claim_many``) until
``now + lease``. A stale attempt (the item was answered, or re-enqueued as a later attempt) is dropped.
The lease covers the wait in the shared request queue and the download, by whichever worker pulls it.
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
