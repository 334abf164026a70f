"""What a worker does once work is answered: check jobs get their verdicts, feed jobs' entries their
article captures, finished jobs' duplicate filter sets expire.

Each worker runs a ``Finisher`` thread: woken whenever one of its captures is archived (and every
``reap_interval`` seconds, so the work of workers that died is finished too), it judges the check jobs
whose items are all answered (``collector.workers.checkjobs.judge_pending``), settles the answered
articles of feed jobs (``collector.workers.feedjobs``) and bounds the duplicate
filter (``trim_dupefilters``): scrapy-redis keeps a set of request fingerprints, one per job here
(``spiders.queued.job_dupefilter_key``); once a job is finished its set is given an expiry of
``job_lease`` (a request of the job still in the shared queue is filtered meanwhile), then Redis drops it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from collector.config import Config
from collector.workers.checkjobs import judge_pending
from collector.workers.feedjobs import settle_feed_jobs
from collector.workers.queue import QueueKeys
from storage import jobs

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Finisher", "trim_dupefilters"]

log = logging.getLogger(__name__)


def trim_dupefilters(sessions: sessionmaker[Session], server: Redis, keys: QueueKeys, *,
                     expire: float) -> list[int]:
    """Give the duplicate filter set of every finished job (that has none yet) an expiry of ``expire``
    seconds; the jobs whose sets were given one."""
    prefix = f"{keys.dupefilter}:job:"
    found: dict[int, bytes] = {}
    for key in server.scan_iter(match=f"{prefix}*", count=500):
        tail = key[len(prefix):].decode() if isinstance(key, bytes) else str(key)[len(prefix):]
        if tail.isdigit() and server.ttl(key) == -1:  # -1: no expiry yet (-2: gone meanwhile)
            found[int(tail)] = key
    finished = sorted(jobs.finished_jobs(sessions, list(found)))
    for job_id in finished:
        server.expire(found[job_id], max(1, int(expire)))
    if finished:
        log.info("duplicate filter: the sets of finished job(s) %s expire in %d s", finished, int(expire))
    return finished


class Finisher:
    """Judges answered check jobs and trims the duplicate filter, in a thread, at each ``wake`` (and every
    ``interval`` seconds) until ``stop``."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], server: Redis, *,
                 interval: float) -> None:
        self.config, self.sessions, self.server = config, sessions, server
        self.keys = QueueKeys(config.redis_prefix)
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="collector-finisher", daemon=True)

    def start(self) -> Finisher:
        """Start the thread."""
        self._thread.start()
        return self

    def wake(self) -> None:
        """Make a pass soon (a capture was archived)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (after the pass it is in)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def pass_once(self) -> None:
        """Judge what can be judged, settle what can be settled, then trim."""
        judge_pending(self.config, self.sessions, self.server)
        settle_feed_jobs(self.config, self.sessions)
        trim_dupefilters(self.sessions, self.server, self.keys, expire=self.config.job_lease)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.pass_once()
            except Exception:  # the next pass tries again; a worker must not die of it
                log.exception("finisher: a pass failed")
            self._stop.wait(0.2)  # passes at most 5 times a second, however many captures arrive
