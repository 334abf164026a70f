"""Enqueueing (capture --queue, the daemon with dispatch = "queue"), collector jobs, and the reaper, without
workers: the test answers job items itself by committing capture rows as a worker's writer does."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from collector.cli.main import cli
from collector.config import Config
from collector.workers.queue import QueueKeys, enqueue
from collector.workers.reaper import reap_once
from storage import jobs
from storage.archive import Archive
from storage.records import CaptureInput
from tests.conftest import make_config
from tests.storage.helpers import failed_capture, html_capture
from tests.workers.conftest import REDIS_URL, redis_or_skip


@pytest.fixture
def queued(home: Path, db_url: str) -> Iterator[tuple[Config, Any]]:
    """A config on ``db_url`` (both databases) and a Redis prefix of the test's own; the Redis client."""
    server = redis_or_skip()
    config = make_config(home, database_url=db_url, redis_url=REDIS_URL,
                         redis_prefix=f"test-{uuid.uuid4().hex[:12]}")
    yield config, server
    keys = list(server.scan_iter(f"{config.redis_prefix}:*"))
    if keys:
        server.delete(*keys)
    server.close()


def _env(config: Config) -> dict[str, str]:
    return {"COLLECTOR_HOME": str(config.home), "COLLECTOR_DATABASE_URL": config.db_url,
            "COLLECTOR_REDIS_URL": config.redis_url, "COLLECTOR_REDIS_PREFIX": config.redis_prefix}


def _answer(archive: Archive, message: dict[str, Any], *, fail: bool = False) -> None:
    """What a worker's writer does with one popped target: commit its capture row (and so the ack)."""
    base: CaptureInput = failed_capture(message["url"]) if fail else html_capture(message["url"])
    archive.commit_captures([dataclasses.replace(base, captured_at=datetime.now(UTC),
                                                 context=message["context"])])


def test_capture_queue_then_jobs_wait_prints_results_as_they_arrive(queued: tuple[Config, Any]) -> None:
    config, server = queued
    runner = CliRunner()
    urls = ["https://example.org/a", "https://example.org/b", "example.org/c", "ftp://nope"]
    result = runner.invoke(cli, ["capture", "--queue", "--json", *urls], env=_env(config))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["outcome"] == "skipped" and lines[0]["url"] == "ftp://nope"
    assert lines[1] == {"type": "job", "job": 1, "queued": 3, "skipped": 1}
    keys = QueueKeys(config.redis_prefix)
    messages = [json.loads(m) for m in server.lrange(keys.start, 0, -1)]
    assert [m["url"] for m in messages] == [*urls[:2], "https://example.org/c"]
    assert [m["context"]["attempt"] for m in messages] == [1, 1, 1]

    shown = runner.invoke(cli, ["jobs", "1", "--json"], env=_env(config))
    summary, *items = [json.loads(line) for line in shown.output.splitlines()]
    assert (summary["queued"], summary["total"], summary["finished"]) == (3, 3, False)
    assert [i["status"] for i in items] == ["queued"] * 3

    archive = Archive.from_settings(config)
    try:
        _answer(archive, messages[0])
        # --wait blocks until the rest are answered: answer them from another thread meanwhile
        later = threading.Timer(1.0, lambda: [_answer(archive, messages[1], fail=True),
                                              _answer(archive, messages[2])])
        later.start()
        waited = runner.invoke(cli, ["jobs", "1", "--wait", "--json"], env=_env(config))
        later.join()
    finally:
        archive.close()
    assert waited.exit_code == 1, waited.output  # one URL failed
    out = [json.loads(line) for line in waited.output.splitlines()]
    assert [(o["url"], o["outcome"]) for o in out[:3]] == [
        (urls[0], "captured"), (urls[1], "failed"), ("https://example.org/c", "captured")]
    assert all(o["job"] == 1 and o["id"] for o in out[:3])  # capture rows' lines, as capture --json
    assert out[3]["type"] == "job" and out[3]["done"] == 2 and out[3]["failed"] == 1
    listed = runner.invoke(cli, ["jobs", "--json"], env=_env(config))
    assert json.loads(listed.output)["finished"] is True


def test_capture_queue_needs_redis(home: Path) -> None:
    result = CliRunner().invoke(cli, ["capture", "--queue", "https://example.org/"],
                                env={"COLLECTOR_HOME": str(home),
                                     "COLLECTOR_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.exit_code == 1
    assert "Redis at redis://127.0.0.1:1/0 does not answer" in result.output


def test_reaper_puts_lost_work_back_on_the_queue(queued: tuple[Config, Any]) -> None:
    config, server = queued
    keys = QueueKeys(config.redis_prefix)
    done = enqueue(config, ["https://example.org/x", "https://example.org/y"], server=server)
    first, second = done.items
    server.delete(keys.start)  # both messages popped by a worker ...
    now = datetime.now(UTC)
    archive = Archive.from_settings(config)
    try:
        assert jobs.claim(archive.sessions, first.id, 1, "dead", now=now, lease=config.job_lease)
        # ... which died: the claimed one comes back once its lease expired, the unclaimed one once it
        # has waited that long with the queue empty
        assert reap_once(archive.sessions, server, keys, lease=config.job_lease, now=now) == 0
        later = now + timedelta(seconds=config.job_lease + 1)
        assert reap_once(archive.sessions, server, keys, lease=config.job_lease, now=later) == 2
        messages = [json.loads(m) for m in server.lrange(keys.start, 0, -1)]
        assert sorted((m["context"]["job_item"], m["context"]["attempt"]) for m in messages) == [
            (first.id, 2), (second.id, 2)]
        # while the queue holds work, an unclaimed item is not taken for lost
        assert reap_once(archive.sessions, server, keys, lease=config.job_lease,
                         now=later + timedelta(seconds=2 * config.job_lease)) == 0
    finally:
        archive.close()


def test_daemon_schedules_enqueue_with_dispatch_queue(queued: tuple[Config, Any]) -> None:
    from collector.monitor.jobs import JobRuntime, reap_queue, run_schedule, set_runtime
    from collector.monitor.scheduler import add_schedule
    from storage.database import connect
    from storage.monitoring import runs_of

    config, server = queued
    config = config.replace(dispatch="queue")
    added = add_schedule(config, urls=["https://example.org/scheduled"], every=3600)
    sessions = connect(config.db_url)
    set_runtime(JobRuntime(config=config, sessions=sessions, holder="me", lease=None,
                           clock=lambda: datetime.now(UTC)))
    try:
        run_schedule(added.schedule.id)
        reap_queue()  # nothing expired: nothing moves, and no error
    finally:
        set_runtime(None)
    [summary] = jobs.list_jobs(sessions)
    assert (summary.source, summary.total) == (f"schedule {added.schedule.id}", 1)
    [run] = runs_of(sessions, added.schedule.job_id)
    assert run.status == "ok" and run.summary["job"] == summary.id and run.summary["queued"] == 1
    [message] = server.lrange(QueueKeys(config.redis_prefix).start, 0, -1)
    assert json.loads(message)["url"] == "https://example.org/scheduled"
    sessions.kw["bind"].dispose()
