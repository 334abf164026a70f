"""What a worker does once work is answered: check jobs get their verdicts, feed jobs' entries their
article captures, finished jobs' duplicate filter sets expire.

Each worker runs a ``Finisher`` thread: woken whenever one of its captures is archived (and every
``reap_interval`` seconds, so the work of workers that died is finished too), it judges the check jobs
whose items are all answered, and early the answered URLs of the others whose verdicts need no probe
(``collector.workers.checkjobs.judge_pending``), settles the answered
articles of feed jobs (``collector.workers.feedjobs``) and bounds the duplicate
filter (``trim_dupefilters``): scrapy-redis keeps a set of request fingerprints, one per job here
(``spiders.queued.job_dupefilter_key``); once a job is finished its set is given an expiry of
``job_lease`` (a request of the job still in the shared queue is filtered meanwhile), then Redis drops it.
The requests of no job are filtered in time-bucketed sets that expire by themselves
(``spiders.queued.AttemptDupeFilter``, ``dupefilter_window``); the one set of older versions, which
never expired, is given an expiry of ``dupefilter_window`` here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from collector.config import Config
from collector.workers.checkjobs import judge_pending
from collector.workers.feedjobs import settle_feed_jobs
from collector.workers.periodic import Periodic
from collector.workers.queue import QueueKeys
from storage import jobs

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Finisher", "trim_dupefilters"]

log = logging.getLogger(__name__)


def trim_dupefilters(sessions: sessionmaker[Session], server: Redis, keys: QueueKeys, *,
                     expire: float, window: float = Config.dupefilter_window) -> list[int]:
    """Give the duplicate filter set of every finished job (that has none yet) an expiry of ``expire``
    seconds, and the unbounded set of older versions (if any) one of ``window`` seconds; the jobs whose
    sets were given one."""
    if server.ttl(keys.dupefilter) == -1:  # -1: a set without expiry (-2: none)
        server.expire(keys.dupefilter, max(1, int(window)))
        log.info("duplicate filter: the set of requests of no job expires in %d s", int(window))
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


class Finisher(Periodic):
    """Judges answered check jobs, settles feed jobs and trims the duplicate filter, in a thread, at each
    ``wake`` (a capture was archived; at most 5 passes a second) and every ``interval`` seconds, until
    ``stop``."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], server: Redis, *,
                 interval: float) -> None:
        super().__init__("collector-finisher", self.pass_once, interval=interval, spacing=0.2)
        self.config, self.sessions, self.server = config, sessions, server
        self.keys = QueueKeys(config.redis_prefix)
        self.deferred: dict[int, set[int]] = {}  # check job -> its items that wait for the probe

    def pass_once(self) -> None:
        """Judge what can be judged, settle what can be settled, then trim."""
        judge_pending(self.config, self.sessions, self.server, deferred=self.deferred)
        settle_feed_jobs(self.config, self.sessions)
        trim_dupefilters(self.sessions, self.server, self.keys, expire=self.config.job_lease,
                         window=self.config.dupefilter_window)
