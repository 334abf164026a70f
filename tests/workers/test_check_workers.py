"""Checks through the queue with real worker processes (shared PostgreSQL, Redis and WARC store): the
verdicts are a local check's, and a worker killed mid-job loses none."""

from __future__ import annotations

import os
import signal
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from collector.capture.run import capture_urls
from collector.check.run import CheckTarget, run_checks
from collector.workers.checkjobs import enqueue_checks
from collector.workers.queue import QueueKeys, enqueue
from spiders.queued import job_dupefilter_key
from storage import jobs
from storage.database import connect
from storage.models import Check
from tests.workers.conftest import Cluster, redis_or_skip, start_web, wait_until

pytestmark = pytest.mark.slow

# one page per verdict on the check tests' changing web (tests/server.py), soft-404 hosts included
PATHS = ["/v/unchanged", "/v/chrome", "/v/moved", "/v/gone", "/v/root", "/v/reused", "/v/correction",
         "/v/pdf", "/v/blocked", "/v/error", "/v/down"]


@pytest.fixture
def proxied(server: str) -> Iterator[str]:
    """The test page server as this process's HTTP proxy (its sites are *.test names)."""
    saved = {k: os.environ.get(k) for k in ("http_proxy", "no_proxy", "NO_PROXY")}
    os.environ["http_proxy"] = server
    os.environ.pop("no_proxy", None)
    os.environ.pop("NO_PROXY", None)
    yield server
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _job_checks(sessions: Any, job_id: int) -> Counter[str]:
    """How many check rows each URL got from the job (those pointing at one of its captures)."""
    items = jobs.items_of(sessions, job_id=job_id)
    lines = [v for i in items for v in i.verdicts or ()]
    captures = {line["capture_id"] for line in lines}
    with sessions() as session:
        urls = session.scalars(select(Check.url).where(Check.capture_id.in_(captures)))
        return Counter(urls)


def _judged(sessions: Any, job_id: int) -> bool:
    return jobs.list_jobs(sessions, job_id)[0].stage == jobs.JUDGED


def test_two_workers_give_the_verdicts_of_a_local_check(cluster: Cluster, proxied: str) -> None:
    store = cluster.root / "store"
    cluster.settings.update({"COLLECTOR_EXTRACT": "1", "COLLECTOR_EXTRACT_WORKERS": "1",
                             "COLLECTOR_WARC_STORE": str(store), "http_proxy": proxied,
                             "no_proxy": "", "NO_PROXY": ""})
    site = uuid.uuid4().hex[:8]
    urls = [f"http://news.{site}.test{p}" for p in PATHS]
    urls += [f"http://social.{site}.test/posts/8812", f"http://video.{site}.test/watch?v=dQw4w9WgXcQ"]
    config = cluster.config(warc_store=str(store), retry_times=1)
    first = capture_urls(config, urls)
    assert all(r["outcome"] == "captured" for r in first), first
    with urllib.request.urlopen(f"{proxied}/_phase?site={site}&n=2") as response:
        assert response.read() == b"ok"
    targets = [CheckTarget(url=u) for u in urls]
    targets[0] = CheckTarget(url=urls[0], quotes=("This paragraph is long enough for the extractor",
                                                  "words that were never on the page"))
    local = {r["url"]: r for r in run_checks(config, targets, seed=7)}

    for name in ("w1", "w2"):
        cluster.start(name, concurrency=4)
    sessions = connect(config.db_url)
    done = enqueue_checks(config, targets, seed=7, sessions=sessions)
    assert done.job_id is not None
    wait_until(lambda: _judged(sessions, int(done.job_id or 0)), 240, "the check job's verdicts")
    assert set(cluster.stop_all().values()) == {0}, cluster.log("w1")[-2000:]

    items = jobs.items_of(sessions, job_id=done.job_id)
    queued = {v["url"]: v for i in items for v in i.verdicts or ()}
    assert set(queued) == set(local)
    # verdicts of every kind, soft-404s among them: the workers fetched the hosts' probes too
    assert {"unchanged", "changed", "gone", "soft-404", "server-error"} <= {
        r["status"] for r in local.values()}
    assert any(i.context.get("probe") for i in items)
    for url, row in local.items():
        mine = queued[url]
        assert (mine["status"], mine["similarity"], mine["redirected"], mine["quotes"]) == (
            row["status"], row["similarity"], row["redirected"], row["quotes"]), url
        assert mine["capture_id"] != row["capture_id"]  # fetched again, by a worker
    assert {i.worker for i in items} <= {"w1", "w2"}
    assert set(_job_checks(sessions, done.job_id).values()) == {1}
    sessions.kw["bind"].dispose()


def test_a_worker_killed_during_a_check_job_loses_no_verdict(cluster: Cluster) -> None:
    store = cluster.root / "store"
    cluster.settings.update({"COLLECTOR_EXTRACT": "1", "COLLECTOR_EXTRACT_WORKERS": "1",
                             "COLLECTOR_WARC_STORE": str(store)})
    web_proc, web = start_web(hosts=6, latency=0.1)
    try:
        urls = web.urls(90)
        config = cluster.config(warc_store=str(store))
        assert {r["outcome"] for r in capture_urls(config, urls)} == {"captured"}  # the baselines
        for name in ("w1", "w2"):
            cluster.start(name, concurrency=4)
        sessions = connect(config.db_url)
        done = enqueue_checks(config, [CheckTarget(url=u) for u in urls], sessions=sessions)
        assert done.job_id is not None
        job_id = done.job_id

        def answered() -> int:
            counts = jobs.list_jobs(sessions, job_id)[0].counts
            return counts.get("done", 0) + counts.get("failed", 0)

        wait_until(lambda: answered() >= 20, 120, "20 URLs answered")
        victim = cluster.procs["w2"]
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        cluster.start("w2", concurrency=4)  # the same worker, started again on its home
        cluster.wait_taking_work("w2")
        wait_until(lambda: _judged(sessions, job_id), 240, "the check job's verdicts")
        codes = cluster.stop_all()
        assert set(codes.values()) == {0}, (codes, cluster.log("w1")[-3000:], cluster.log("w2")[-3000:])

        items = jobs.items_of(sessions, job_id=job_id)
        assert Counter(i.status for i in items) == {"done": len(urls)}
        assert max(i.attempt for i in items) >= 2  # the kill lost work in flight: the reaper re-queued it
        assert [len(i.verdicts or ()) for i in items] == [1] * len(urls)
        assert {v["status"] for i in items for v in i.verdicts or ()} == {"unchanged"}
        per_url = _job_checks(sessions, job_id)
        assert set(per_url) == set(urls) and set(per_url.values()) == {1}
        with sessions() as session:  # and no other check row: the job stored its verdicts once
            assert session.scalar(select(Check.id).where(Check.capture_id.not_in(
                [i.capture_id for i in items]))) is None
        sessions.kw["bind"].dispose()
    finally:
        web_proc.kill()
        web_proc.wait()


def test_jobs_of_a_worker_leave_no_duplicate_filter_set_behind(cluster: Cluster) -> None:
    """Once a job is finished, no duplicate filter set of its requests is left without an expiry."""
    cluster.settings["COLLECTOR_JOB_LEASE"] = "600"
    web_proc, web = start_web(hosts=2)
    try:
        cluster.start("w1", concurrency=4)
        config = cluster.config()
        sessions = connect(config.db_url)
        done = enqueue(config, web.urls(10), sessions=sessions)
        assert done.job_id is not None
        server = redis_or_skip()
        key = job_dupefilter_key(QueueKeys(config.redis_prefix).dupefilter, done.job_id)
        wait_until(lambda: jobs.list_jobs(sessions, done.job_id)[0].finished, 120, "the job to finish")
        # a job item's request skips the filter (spiders.queued): the job's set exists only when
        # another request of the job went through it, and then it expires (TTL -2: no such key)
        wait_until(lambda: server.ttl(key) != -1, 60, "the job's set to expire or be absent")
        assert server.ttl(key) <= 600
        left = [k for k in server.scan_iter(match=QueueKeys(config.redis_prefix).dupefilter + "*")
                if server.ttl(k) == -1]
        assert left == []  # no fingerprint set of the cluster kept without end
        assert set(cluster.stop_all().values()) == {0}
        server.close()
        sessions.kw["bind"].dispose()
    finally:
        web_proc.kill()
        web_proc.wait()
