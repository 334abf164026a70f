"""Check jobs without workers (both databases): the test answers the job's items itself by committing
capture rows as a worker's writer does, then judges the job as a worker's finisher does."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy import Request
from scrapy.utils.test import get_crawler

from collector.check.run import CheckTarget
from collector.cli.main import cli
from collector.config import Config
from collector.monitor.jobs import JobRuntime, run_schedule, set_runtime
from collector.monitor.scheduler import add_schedule
from collector.workers.checkjobs import enqueue_checks, judge_job, wait_for_checks
from collector.workers.finisher import trim_dupefilters
from collector.workers.queue import QueueKeys, enqueue
from spiders.capture import TARGET_KEY
from spiders.queued import AttemptDupeFilter, QueuedCaptureSpider, job_dupefilter_key
from storage import jobs
from storage.archive import Archive
from storage.checks import checks_of
from storage.records import CaptureInput
from tests.conftest import make_config
from tests.storage.helpers import HTML, failed_capture, html_capture
from tests.workers.conftest import REDIS_URL

A, B = "https://example.org/a", "https://example.org/b"
OTHER = HTML.replace(b"</body>", b"<p>A paragraph that was not there before.</p></body>")


@pytest.fixture
def queued(home: Path, db_url: str, redis_prefix: tuple[str, Any]) -> Iterator[tuple[Config, Any, Archive]]:
    """A config on ``db_url`` (both databases), a Redis prefix of the test's own, the archive."""
    prefix, server = redis_prefix
    config = make_config(home, database_url=db_url, redis_url=REDIS_URL, redis_prefix=prefix)
    archive = Archive.from_settings(config)
    yield config, server, archive
    archive.close()


def _pop(server: Any, config: Config) -> list[dict[str, Any]]:
    key = QueueKeys(config.redis_prefix).start
    messages = [json.loads(m) for m in server.lrange(key, 0, -1)]
    server.delete(key)
    return messages


def _answer(archive: Archive, message: dict[str, Any], body: bytes = HTML) -> None:
    """What a worker's writer does with a fetched target: commit its capture row (and so the ack)."""
    base: CaptureInput = html_capture(message["url"], body=body)
    archive.commit_captures([dataclasses.replace(base, captured_at=datetime.now(UTC),
                                                 context=message["context"])])


def _later(config: Config) -> datetime:
    """A time when the job's texts are no longer waited for (the test's writer extracts none)."""
    return datetime.now(UTC) + timedelta(seconds=config.job_lease + 1)


def test_unchanged_sources_are_judged_without_probes(queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    for url in (A, B):  # the baselines
        archive.commit_captures([html_capture(url, datetime.now(UTC) - timedelta(days=1))])
    targets = [CheckTarget(url=A, quotes=("never on the page",), report="r", ref="1"), CheckTarget(url=B)]
    done = enqueue_checks(config, targets, sessions=archive.sessions, server=server)
    assert done.job_id is not None
    messages = _pop(server, config)
    assert [(m["url"], m["context"]["check"]) for m in messages] == [(A, True), (B, True)]
    assert judge_job(config, archive.sessions, server, done.job_id) == "waiting"  # nothing answered
    for message in messages:
        _answer(archive, message)  # the same payloads: revisits, whose texts are their originals'
    assert judge_job(config, archive.sessions, server, done.job_id) == "judged"
    assert _pop(server, config) == []  # the same content: no probe was needed
    items = jobs.items_of(archive.sessions, job_id=done.job_id)
    assert [[v["status"] for v in i.verdicts or []] for i in items] == [["unchanged"], ["unchanged"]]
    first = (items[0].verdicts or [])[0]
    assert (first["report"], first["ref"], first["capture_id"]) == ("r", "1", items[0].capture_id)
    assert first["quotes"][0]["text"] == "never on the page"
    assert [c.status for c in checks_of(archive.sessions, A)] == ["unchanged"]
    # judged once: a second judge (another worker) stores nothing more
    assert judge_job(config, archive.sessions, server, done.job_id) == "done"
    assert len(checks_of(archive.sessions, A)) == 1
    assert jobs.list_jobs(archive.sessions, done.job_id)[0].to_json()["stage"] == "judged"


def test_a_changed_source_gets_probes_then_its_verdict(queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    archive.commit_captures([html_capture(A, datetime.now(UTC) - timedelta(days=1))])
    done = enqueue_checks(config, [CheckTarget(url=A)], sessions=archive.sessions, server=server, seed=3)
    assert done.job_id is not None
    [message] = _pop(server, config)
    _answer(archive, message, body=OTHER)
    # answered, but its text is not extracted yet (this test's writer has no extraction pool)
    assert judge_job(config, archive.sessions, server, done.job_id) == "waiting"
    assert judge_job(config, archive.sessions, server, done.job_id, now=_later(config)) == "probing"
    [probe] = _pop(server, config)
    assert probe["context"]["probe"] is True and probe["url"].startswith("https://example.org/")
    assert probe["url"] != A
    assert jobs.list_jobs(archive.sessions, done.job_id)[0].finished is False
    assert judge_job(config, archive.sessions, server, done.job_id, now=_later(config)) == "waiting"
    _answer(archive, probe, body=b"<html><body><p>Not found here.</p></body></html>")
    assert judge_job(config, archive.sessions, server, done.job_id, now=_later(config)) == "judged"
    [item] = [i for i in jobs.items_of(archive.sessions, job_id=done.job_id) if i.context.get("check")]
    [verdict] = item.verdicts or []
    [stored] = checks_of(archive.sessions, A)
    assert verdict["status"] == stored.status != "unchanged"
    assert stored.probe_id is not None


def test_check_queue_wait_prints_the_verdict_lines(queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    archive.commit_captures([html_capture(A, datetime.now(UTC) - timedelta(days=1))])
    env = {"COLLECTOR_HOME": str(config.home), "COLLECTOR_DATABASE_URL": config.db_url,
           "COLLECTOR_REDIS_URL": config.redis_url, "COLLECTOR_REDIS_PREFIX": config.redis_prefix}

    def work() -> None:  # a worker: answer the check once it is queued, then judge it
        key = QueueKeys(config.redis_prefix).start
        raw = server.blpop([key], timeout=60)
        assert raw is not None
        message = json.loads(raw[1])
        _answer(archive, message)
        judge_job(config, archive.sessions, server, message["context"]["job"], now=_later(config))

    worker = threading.Thread(target=work)
    worker.start()
    result = CliRunner().invoke(cli, ["check", "--queue", "--wait", "--json", A], env=env)
    worker.join()
    assert result.exit_code == 0, result.output
    job, line = [json.loads(x) for x in result.output.splitlines()]
    assert job["type"] == "job" and job["queued"] == 1
    assert (line["url"], line["status"], line["job"]) == (A, "unchanged", job["job"])
    shown = CliRunner().invoke(cli, ["jobs", str(job["job"]), "--json"], env=env)
    summary, item = [json.loads(x) for x in shown.output.splitlines()]
    assert summary["stage"] == "judged" and summary["finished"] is True
    assert [v["status"] for v in item["verdicts"]] == ["unchanged"]
    waited = CliRunner().invoke(cli, ["jobs", str(job["job"]), "--wait", "--json"], env=env)
    verdict_line, summary_line = [json.loads(x) for x in waited.output.splitlines()]
    assert verdict_line == line and summary_line["type"] == "job"


def test_check_queue_refuses_an_invalid_url(queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    with pytest.raises(ValueError, match="ftp://nope"):
        enqueue_checks(config, [CheckTarget(url="ftp://nope")], sessions=archive.sessions, server=server)
    assert jobs.list_jobs(archive.sessions) == []


def test_job_fingerprints_go_to_the_job_set_which_expires_once_the_job_is_finished(
        queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    keys = QueueKeys(config.redis_prefix)
    finished = enqueue(config, [A], sessions=archive.sessions, server=server)
    running = enqueue(config, [B], sessions=archive.sessions, server=server)
    assert finished.job_id is not None and running.job_id is not None
    dupes = AttemptDupeFilter(server, keys.dupefilter, debug=False)
    for item in (*finished.items, *running.items):
        request = Request(item.url, meta={TARGET_KEY: item.message()})
        assert not dupes.request_seen(request)
        assert dupes.request_seen(request)  # the same attempt again: a duplicate
    assert not server.exists(keys.dupefilter)  # nothing in the one set that was never trimmed
    sets = {j: job_dupefilter_key(keys.dupefilter, j) for j in (finished.job_id, running.job_id)}
    assert all(server.scard(key) == 1 for key in sets.values())
    for message in _pop(server, config):
        if message["context"]["job"] == finished.job_id:
            _answer(archive, message)
    expire = config.job_lease
    assert trim_dupefilters(archive.sessions, server, keys, expire=expire) == [finished.job_id]
    assert 0 < server.ttl(sets[finished.job_id]) <= expire
    assert server.ttl(sets[running.job_id]) == -1  # no expiry while the job runs
    assert trim_dupefilters(archive.sessions, server, keys, expire=expire) == []  # given once


def test_daemon_check_schedules_enqueue_check_jobs_with_dispatch_queue(
        queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    config = config.replace(dispatch="queue")
    added = add_schedule(config, urls=[A, B], every=3600, action="check")
    set_runtime(JobRuntime(config=config, sessions=archive.sessions, holder="me", lease=None,
                           clock=lambda: datetime.now(UTC)))
    try:
        run_schedule(added.schedule.id)
    finally:
        set_runtime(None)
    [summary] = jobs.list_jobs(archive.sessions)
    assert (summary.kind, summary.stage, summary.total) == ("check", "fetching", 2)
    assert summary.source == f"schedule {added.schedule.id}"
    messages = _pop(server, config)
    assert [(m["url"], m["context"].get("check")) for m in messages] == [(A, True), (B, True)]
    assert checks_of(archive.sessions, A) == []  # nothing was fetched nor judged by the daemon


def test_check_wait_needs_queue(home: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "--wait", A], env={"COLLECTOR_HOME": str(home)})
    assert result.exit_code == 2 and "--wait goes with --queue" in result.output


@pytest.mark.parametrize("worker_browser", ["auto", "never"])
def test_a_queued_check_is_fetched_in_its_baselines_mode(queued: tuple[Config, Any, Archive],
                                                         worker_browser: str) -> None:
    """As a local check (issue 14): the message of a URL whose baseline is a browser capture names the
    browser, one whose baseline is HTTP names HTTP, and a worker under ``auto`` follows them (under
    ``never`` it fetches everything over HTTP)."""
    config, server, archive = queued
    earlier = datetime.now(UTC) - timedelta(days=1)
    [browser_id, http_id] = [r.id for r in archive.commit_captures([
        html_capture(A, earlier, mode="browser", mode_reason="--browser"),
        html_capture(B, earlier, mode="http")])]
    done = enqueue_checks(config, [CheckTarget(url=A), CheckTarget(url=B)], sessions=archive.sessions,
                          server=server)
    assert done.job_id is not None
    messages = {m["url"]: m for m in _pop(server, config)}
    contexts = {url: (m["context"].get("mode"), m["context"].get("mode_reason"))
                for url, m in messages.items()}
    assert contexts == {A: ("browser", f"baseline capture {browser_id} (browser)"),
                        B: ("http", f"baseline capture {http_id} (http)")}
    crawler = get_crawler(QueuedCaptureSpider, {"COLLECTOR_BROWSER": worker_browser})
    spider = QueuedCaptureSpider.from_crawler(crawler, redis_key="unused")
    targets = {t["url"]: t for t in spider._targets([json.dumps(m) for m in messages.values()])}
    if worker_browser == "auto":
        assert (targets[A]["mode"], targets[B]["mode"]) == ("browser", "http")
        assert targets[A]["mode_reason"] == contexts[A][1]
    else:
        assert "mode" not in targets[A] and "mode" not in targets[B]


def test_a_check_queued_under_never_names_no_mode(home: Path, db_url: str,
                                                  redis_prefix: tuple[str, Any]) -> None:
    prefix, server = redis_prefix
    config = make_config(home, database_url=db_url, redis_url=REDIS_URL, redis_prefix=prefix,
                         browser="never")
    archive = Archive.from_settings(config)
    try:
        archive.commit_captures([html_capture(A, datetime.now(UTC) - timedelta(days=1), mode="browser")])
        enqueue_checks(config, [CheckTarget(url=A)], sessions=archive.sessions, server=server)
        [message] = _pop(server, config)
        assert "mode" not in message["context"]
    finally:
        archive.close()


def test_a_verdict_that_needs_no_probe_is_stored_and_printed_before_the_last_url_is_answered(
        queued: tuple[Config, Any, Archive]) -> None:
    config, server, archive = queued
    c, d = "https://example.org/c", "https://example.org/d"
    for url in (A, B, c, d):  # the baselines
        archive.commit_captures([html_capture(url, datetime.now(UTC) - timedelta(days=1))])
    done = enqueue_checks(config, [CheckTarget(url=u) for u in (A, B, c, d)], sessions=archive.sessions,
                          server=server, seed=5)
    assert done.job_id is not None
    job_id = done.job_id
    messages = {m["url"]: m for m in _pop(server, config)}
    printed: list[dict[str, Any]] = []
    waiter = threading.Thread(target=wait_for_checks, args=(archive.sessions, job_id),
                              kwargs={"on_result": printed.append, "poll": 0.05}, daemon=True)
    waiter.start()
    _answer(archive, messages[A])  # the baseline's content again: unchanged, whatever the probe says
    _answer(archive, messages[B], body=OTHER)  # changed: its verdict waits (for its text, its probe)
    gone = failed_capture(d, datetime.now(UTC), reason="dns-failure")  # unreachable, whatever the probe
    archive.commit_captures([dataclasses.replace(gone, context=messages[d]["context"])])
    barrier = threading.Barrier(2)

    def judge() -> None:  # two workers' finishers at once
        barrier.wait()
        assert judge_job(config, archive.sessions, server, job_id) == "waiting"

    judges = [threading.Thread(target=judge) for _ in range(2)]
    for thread in judges:
        thread.start()
    for thread in judges:
        thread.join()
    items = {i.url: i for i in jobs.items_of(archive.sessions, job_id=job_id)}
    assert [v["status"] for v in items[A].verdicts or []] == ["unchanged"]
    assert [v["status"] for v in items[d].verdicts or []] == ["unreachable"]
    assert items[B].verdicts is None and items[c].verdicts is None
    assert [len(checks_of(archive.sessions, u)) for u in (A, B, c, d)] == [1, 0, 0, 1]
    for _ in range(600):  # the waiter prints them while c is still unanswered
        if len(printed) == 2:
            break
        time.sleep(0.05)
    assert sorted(line["url"] for line in printed) == [A, d]
    assert jobs.items_of(archive.sessions, ids=[items[c].id])[0].status == jobs.QUEUED
    assert judge_job(config, archive.sessions, server, job_id) == "waiting"  # judged once
    assert len(checks_of(archive.sessions, A)) == 1

    _answer(archive, messages[c])
    assert judge_job(config, archive.sessions, server, job_id, now=_later(config)) == "probing"
    # the last URL answered needs no probe either: stored now, not after the probes of B's host
    items = {i.url: i for i in jobs.items_of(archive.sessions, job_id=job_id)}
    assert [v["status"] for v in items[c].verdicts or []] == ["unchanged"]
    assert items[B].verdicts is None
    assert [len(checks_of(archive.sessions, u)) for u in (A, B, c, d)] == [1, 0, 1, 1]
    for _ in range(600):  # the waiter prints it while B waits for its probe
        if len(printed) == 3:
            break
        time.sleep(0.05)
    assert [line["url"] for line in printed] == [A, d, c]
    for probe in _pop(server, config):
        _answer(archive, probe, body=b"<html><body><p>Not found here.</p></body></html>")
    assert judge_job(config, archive.sessions, server, job_id, now=_later(config)) == "judged"
    waiter.join(timeout=60)
    assert not waiter.is_alive()
    assert [line["url"] for line in printed] == [A, d, c, B]  # each once, as it was stored
    assert [len(checks_of(archive.sessions, u)) for u in (A, B, c, d)] == [1, 1, 1, 1]
    items = {i.url: i for i in jobs.items_of(archive.sessions, job_id=job_id)}
    assert [[v["status"] for v in items[u].verdicts or []] for u in (A, c, d)] == [
        ["unchanged"], ["unchanged"], ["unreachable"]]
    assert (items[B].verdicts or [{}])[0]["status"] not in ("unchanged", None)
