"""``collector worker``: a long-running capture worker fed by the shared queue.

It runs what a local capture runs (``collector.capture.run.crawl_in_process``): the writer process
forked before Scrapy starts (``collector.capture.writeproc``), with its extraction pool, and the
capture spider's pipeline, middlewares and settings. What differs is where the requests come from and
who else is polite to the same hosts: the spider pops targets from Redis (``spiders.queued``), the
scheduler is scrapy-redis's shared queue with this worker's own requests held first
(``spiders.sharedqueue``), the URLs popped are claimed in the job ledger (``collector.workers.claims``;
renewed while the worker holds them), politeness and robots.txt are shared through Redis
(``spiders.cluster``), and each claimed URL is acked in the transaction that commits its capture row
(``storage.jobs``). A finisher thread then judges the check jobs whose URLs are all answered and
lets finished jobs' duplicate filter sets expire (``collector.workers.finisher``).

SIGTERM (or SIGINT) stops taking work, lets the downloads in flight finish and be archived, and exits.
A worker killed outright loses nothing: its claims expire and the reaper queues them again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from collector.capture.crawlproc import import_slow_modules
from collector.capture.heap import map_large_blocks
from collector.capture.scrapy_settings import scrapy_settings
from collector.capture.writeproc import WriterLink, describe_run
from collector.config import Config
from collector.workers.queue import SPIDER, QueueKeys, connect_redis

__all__ = ["default_name", "run_worker", "stop_on_signals", "worker_settings"]

QUEUED_SPIDER = "spiders.queued.QueuedCaptureSpider"

log = logging.getLogger(__name__)


def default_name() -> str:
    """A worker's name when none is given: ``<host name>-<pid>``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_settings(config: Config, *, concurrency: int | None = None, **overrides: Any) -> dict[str, Any]:
    """The Scrapy settings of a worker: the capture crawl's, with scrapy-redis's scheduler and duplicate
    filter on ``redis_url`` and the cluster's politeness."""
    keys = QueueKeys(config.redis_prefix)
    settings = scrapy_settings(config, **overrides)
    middlewares = dict(settings["DOWNLOADER_MIDDLEWARES"])
    middlewares["spiders.robots.RobotsMiddleware"] = None
    middlewares["spiders.cluster.ClusterRobotsMiddleware"] = 100
    # just before the private-address check and the recording: a slot is held around the download
    middlewares["spiders.cluster.ClusterSlotsMiddleware"] = 955
    settings.update({
        "SCHEDULER": "spiders.sharedqueue.LocalFirstScheduler",
        "DUPEFILTER_CLASS": "spiders.queued.AttemptDupeFilter",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.FifoQueue",
        "SCHEDULER_QUEUE_KEY": keys.requests.replace(SPIDER, "%(spider)s"),
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter.replace(SPIDER, "%(spider)s"),
        "SCHEDULER_PERSIST": True,  # the queue outlives every worker
        "REDIS_URL": config.redis_url,
        "COLLECTOR_CLUSTER_PREFIX": config.redis_prefix,
        "COLLECTOR_DUPEFILTER_WINDOW": config.dupefilter_window,
        "DOWNLOADER_MIDDLEWARES": middlewares,
    })
    if concurrency:
        settings["CONCURRENT_REQUESTS"] = concurrency
    return settings


def stop_on_signals() -> threading.Event:
    """From now on SIGTERM and SIGINT set the returned event (until Scrapy's own handlers replace
    these): a worker told to stop while it starts stops as one told during the crawl does."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


def run_worker(config: Config, *, name: str | None = None, concurrency: int | None = None,
               emit: Callable[[dict[str, Any]], None], poll: float = 0.2,
               stopping: threading.Event | None = None) -> None:
    """Run a worker in this process until SIGTERM/SIGINT; each archived result goes to ``emit``.

    Call it from a process that has not imported Scrapy or Twisted yet (the CLI): the writer process
    is forked first, as in a local capture. ``stopping`` (``stop_on_signals``, called as early as the
    caller can) is set by a SIGTERM before the crawl starts.
    """
    stopping = stopping or stop_on_signals()
    name = name or default_name()
    map_large_blocks()
    connect_redis(config).close()  # a missing Redis is said now, before any process starts
    run_info, info = describe_run(config, {"worker": name})
    info["worker"] = name
    wakers: list[Callable[[], None]] = []  # the finisher's, once it is started (after the fork)

    def archived(result: dict[str, Any]) -> None:
        for wake in wakers:
            wake()
        emit(result)

    writer = WriterLink(config, emit=archived, info=info, software=f"collector ({config.ua})").start()
    reaper = finisher = None
    try:
        import_slow_modules()
        # after the writer is forked: it must not inherit Scrapy, Twisted or the database
        from scrapy.crawler import CrawlerProcess  # after the fork

        from collector.capture.pipeline import register_writer  # after the fork: imports Scrapy
        from collector.workers.claims import Claimer  # after the fork: the database
        from collector.workers.finisher import Finisher  # after the fork: the database
        from collector.workers.reaper import Reaper  # after the fork: the database
        from spiders.queued import (  # after the fork: Scrapy
            QueuedCaptureSpider,
            register_acceptor,
            register_renewer,
        )
        from storage.database import connect  # after the fork

        sessions = connect(config.db_url)
        keys = QueueKeys(config.redis_prefix)
        reaper = Reaper(sessions, connect_redis(config), keys, lease=config.job_lease,
                        interval=config.reap_interval).start()
        finisher = Finisher(config, sessions, connect_redis(config), interval=config.reap_interval).start()
        wakers.append(finisher.wake)
        claimer = Claimer(sessions, name, config.job_lease)
        process = CrawlerProcess(settings=worker_settings(
            config, concurrency=concurrency, COLLECTOR_WRITER=register_writer(writer),
            COLLECTOR_RUN=run_info, COLLECTOR_ACCEPT=register_acceptor(claimer.accept),
            COLLECTOR_RENEW=register_renewer(claimer.renew), COLLECTOR_RENEW_INTERVAL=config.job_lease / 3,
            COLLECTOR_WORKER_NAME=name))

        if not stopping.is_set():
            process.crawl(QueuedCaptureSpider, redis_key=keys.start, poll=poll)
            from twisted.internet import reactor  # installed by the CrawlerProcess above

            reactor.callWhenRunning(lambda: stopping.is_set() and process.stop())
            process.start()
    except BaseException:
        with contextlib.suppress(Exception):  # the crawl's own failure is the one to report
            writer.close()
        raise
    finally:
        if reaper is not None:
            reaper.stop()
        if finisher is not None:
            finisher.stop()
    writer.close()
    if finisher is not None:  # after the writer: what it archived last is judged too
        try:
            finisher.pass_once()
        except Exception:  # the other workers (or this one's next start) judge it
            log.exception("finisher: the last pass failed")
