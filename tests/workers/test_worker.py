"""Capture workers on one machine as if on three: shared PostgreSQL and Redis, a home each."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector.workers.queue import enqueue
from storage import jobs, queries
from storage.database import connect
from storage.verify import verify_archive
from tests.workers.conftest import Cluster, redis_or_skip, start_web, wait_until

pytestmark = pytest.mark.slow


def _store(cluster: Cluster, names: list[str]) -> Path:
    """One directory holding every worker's WARC files (as the shared store of issue 16 will; hard
    links, after the workers stopped)."""
    store = cluster.root / "store"
    store.mkdir(exist_ok=True)
    for name in names:
        for path in (cluster.home(name) / "warcs").glob("*.warc.gz"):
            os.link(path, store / path.name)  # a symlink would point outside the store: refused
    return store


def _answered(sessions: object, job_id: int) -> int:
    summary = jobs.list_jobs(sessions, job_id)[0]  # type: ignore[arg-type]
    return summary.counts.get("done", 0) + summary.counts.get("failed", 0)


def test_three_workers_one_killed_lose_nothing(cluster: Cluster) -> None:
    """300 URLs on 30 hosts, three workers, one SIGKILLed mid-run and started again: every URL ends
    with exactly one captured row, verify passes over every worker's files, every record has a row,
    and no host ever saw more than per_host_concurrency connections at once."""
    web_proc, web = start_web(hosts=30, latency=0.05)
    try:
        names = ["w1", "w2", "w3"]
        for name in names:
            cluster.start(name)
        urls = web.urls(300)
        config = cluster.config()
        sessions = connect(config.db_url)
        done = enqueue(config, urls, sessions=sessions)
        assert done.job_id is not None and len(done.items) == 300
        wait_until(lambda: _answered(sessions, done.job_id) >= 60, 90, "60 URLs answered")
        victim = cluster.procs["w2"]
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        cluster.start("w2")  # the same worker, started again on its home
        cluster.wait_taking_work("w2")
        wait_until(lambda: jobs.list_jobs(sessions, done.job_id)[0].finished, 150, "the job to finish")
        codes = cluster.stop_all()
        assert codes == {"w1": 0, "w2": 0, "w3": 0}, {n: cluster.log(n)[-2000:] for n in names}

        items = jobs.items_of(sessions, job_id=done.job_id)
        assert Counter(i.status for i in items) == {"done": 300}
        # the kill lost work in flight, which the reaper queued again
        assert max(i.attempt for i in items) >= 2
        captures = list(queries.iter_captures(sessions))
        captured = Counter(c.url for c in captures if c.outcome == "captured")
        assert set(captured) == set(urls) and set(captured.values()) == {1}
        assert {i.capture_id for i in items} <= {c.id for c in captures if c.outcome == "captured"}

        store = _store(cluster, names)
        report = verify_archive(sessions, store)
        assert report.ok, report.problems[:5]
        assert report.captures_checked == len(captures)
        referenced = {r["id"] for c in captures for r in c.records if r.get("id")}
        for path in store.glob("*.warc.gz"):
            with path.open("rb") as fh:
                for record in ArchiveIterator(fh):
                    if record.rec_type in ("response", "revisit"):
                        assert record.rec_headers.get_header("WARC-Record-ID") in referenced, path.name

        stats = web.stats()
        assert max(s["max_in_flight"] for s in stats.values()) <= config.per_host_concurrency, stats
        # robots.txt once per host for the cluster (one more where the kill cut a fetch short)
        assert all(s["robots"] <= 2 for s in stats.values()) and sum(
            s["robots"] for s in stats.values()) <= web.hosts + 1, stats
        sessions.kw["bind"].dispose()
    finally:
        web_proc.kill()
        web_proc.wait()


def test_a_request_held_longer_than_its_lease_is_renewed_not_fetched_twice(cluster: Cluster) -> None:
    """A live worker's request that waits for its host longer than a claim's lease (the test holds every
    cluster slot of the host, as other workers would) keeps its claim: the worker renews it while it
    holds the request, its reaper (every second) never queues the URL again, and once the host is free
    the URL is fetched once, at attempt 1. Before, the reaper queued attempt 2 after one lease, the
    worker took that too, and the host got both."""
    cluster.settings.update({"COLLECTOR_JOB_LEASE": "6", "COLLECTOR_DOWNLOAD_TIMEOUT": "3"})
    server = redis_or_skip()
    web_proc, web = start_web(hosts=1)
    try:
        config = cluster.config()
        slots = f"{cluster.prefix}:host:127.0.0.1:slots"
        server.zadd(slots, {f"elsewhere-{i}": time.time() + 3600 for i in range(config.per_host_concurrency)})
        cluster.start("w", concurrency=2)
        cluster.wait_taking_work("w")
        sessions = connect(config.db_url)
        done = enqueue(config, web.urls(1), sessions=sessions)
        assert done.job_id is not None

        def item() -> jobs.JobItemRecord:
            return jobs.items_of(sessions, job_id=done.job_id)[0]

        wait_until(lambda: item().status == "claimed", 60, "the worker to claim the URL")
        first = item().lease_until
        assert first is not None
        # the request sits in the worker, its host full, past the first lease and a few reaper passes
        wait_until(lambda: datetime.now(UTC) > first + timedelta(seconds=3), 60, "the first lease to end")
        held = item()
        assert (held.status, held.attempt) == ("claimed", 1)
        assert held.lease_until is not None and held.lease_until > first  # renewed
        server.delete(slots)  # the host is free
        wait_until(lambda: jobs.list_jobs(sessions, done.job_id)[0].finished, 60, "the job to finish")
        assert set(cluster.stop_all().values()) == {0}, cluster.log("w")[-2000:]
        assert [(i.status, i.attempt) for i in jobs.items_of(sessions, job_id=done.job_id)] == [("done", 1)]
        assert [c.url for c in queries.iter_captures(sessions)] == web.urls(1)
        assert [s["requests"] - s["robots"] for s in web.stats().values()] == [1]  # the page, once
        sessions.kw["bind"].dispose()
    finally:
        server.close()
        web_proc.kill()
        web_proc.wait()


def test_per_host_concurrency_holds_across_three_workers(cluster: Cluster) -> None:
    """Two hosts, 60 slow pages, three workers of 8 requests each: neither host ever sees more than
    per_host_concurrency connections at once (each worker alone would allow that many)."""
    web_proc, web = start_web(hosts=2, latency=0.2)
    try:
        for name in ("a", "b", "c"):
            cluster.start(name)
        config = cluster.config()
        sessions = connect(config.db_url)
        done = enqueue(config, web.urls(60), sessions=sessions)
        assert done.job_id is not None
        wait_until(lambda: jobs.list_jobs(sessions, done.job_id)[0].finished, 120, "the job to finish")
        assert set(cluster.stop_all().values()) == {0}
        workers = {i.worker for i in jobs.items_of(sessions, job_id=done.job_id)}
        assert len(workers) >= 2  # the work was shared
        stats = web.stats()
        assert {s["max_in_flight"] for s in stats.values()} == {config.per_host_concurrency}, stats
        assert {s["robots"] for s in stats.values()} == {1}, stats
        sessions.kw["bind"].dispose()
    finally:
        web_proc.kill()
        web_proc.wait()


def test_sigterm_finishes_in_flight_work_and_leaves_the_rest_queued(cluster: Cluster) -> None:
    """A worker stopped with SIGTERM mid-run exits 0 after archiving what it was fetching; another
    worker then finishes the job without the reaper (long lease): every URL answered at attempt 1."""
    cluster.settings["COLLECTOR_JOB_LEASE"] = "600"
    web_proc, web = start_web(hosts=4, latency=0.2)
    try:
        config = cluster.config()
        sessions = connect(config.db_url)
        first = cluster.start("first", concurrency=4)
        done = enqueue(config, web.urls(80), sessions=sessions)
        assert done.job_id is not None
        wait_until(lambda: _answered(sessions, done.job_id) >= 10, 90, "10 URLs answered")
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0, cluster.log("first")[-2000:]
        stopped = jobs.list_jobs(sessions, done.job_id)[0]
        assert not stopped.finished  # it stopped taking work
        cluster.start("second", concurrency=4)
        cluster.wait_taking_work("second")
        wait_until(lambda: jobs.list_jobs(sessions, done.job_id)[0].finished, 120, "the job to finish")
        assert set(cluster.stop_all().values()) == {0}
        items = jobs.items_of(sessions, job_id=done.job_id)
        assert {(i.status, i.attempt) for i in items} == {("done", 1)}
        assert {i.worker for i in items} == {"first", "second"}
        sessions.kw["bind"].dispose()
    finally:
        web_proc.kill()
        web_proc.wait()
