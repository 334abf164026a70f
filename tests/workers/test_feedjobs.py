"""Feed jobs without workers (both databases): a poll with queue=True queues the articles; the test
answers them as a worker's writer does and settles them as a worker's finisher does."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.config import Config
from collector.monitor.feeds import add_feed, poll_feeds
from collector.monitor.keywords import parse_keywords
from collector.workers.feedjobs import settle_feed_job
from collector.workers.queue import QueueKeys
from storage import jobs
from storage.archive import Archive
from storage.feeds import entries_of
from tests.collector.monitor.conftest import control
from tests.conftest import make_config
from tests.storage.helpers import html_capture
from tests.workers.conftest import REDIS_URL

pytestmark = pytest.mark.slow  # a poll crawls (a process of its own per poll)


@pytest.fixture
def queued(home: Path, db_url: str, redis_prefix: tuple[str, Any]) -> tuple[Config, Any]:
    """A config on ``db_url`` (both databases) with dispatch = "queue" and a Redis prefix of its own."""
    prefix, server = redis_prefix
    return make_config(home, database_url=db_url, redis_url=REDIS_URL, dispatch="queue",
                       redis_prefix=prefix), server


def test_queued_articles_are_settled_once(queued: tuple[Config, Any], feed_server: str) -> None:
    config, server = queued
    name = "f" + uuid.uuid4().hex[:8]
    control(feed_server, name, add=[{"title": "Markets", "summary": "The Banco Central spoke."},
                                    {"title": "Weather", "summary": "Rain."}])
    add_feed(config, f"{feed_server}/feed/{name}.xml", name=name,
             keywords=parse_keywords("Banco Central"))
    report = poll_feeds(config, [name], queue=True)
    assert report.job is not None
    assert [(e["title"], e["outcome"]) for e in report.entries] == [("Markets", "queued"),
                                                                    ("Weather", "queued")]
    messages = [json.loads(m) for m in server.lrange(QueueKeys(config.redis_prefix).start, 0, -1)]
    assert sorted(m["url"] for m in messages) == sorted(e["link"] for e in report.entries)
    archive = Archive.from_settings(config)
    try:
        assert settle_feed_job(config, archive.sessions, report.job) == 0  # nothing answered yet
        link = next(e["link"] for e in report.entries if e["title"] == "Markets")
        markets = next(m for m in messages if m["url"] == link)
        capture = dataclasses.replace(html_capture(markets["url"]), captured_at=datetime.now(UTC),
                                      context=markets["context"])
        archive.commit_captures([capture])
        # its text is not extracted (this writer has no pool): settled after a lease, without it
        assert settle_feed_job(config, archive.sessions, report.job) == 0
        later = datetime.now(UTC) + timedelta(seconds=config.job_lease + 1)
        assert settle_feed_job(config, archive.sessions, report.job, now=later) == 1
        assert settle_feed_job(config, archive.sessions, report.job, now=later) == 0  # settled once
        entries = {e.link: e for e in entries_of(archive.sessions, name)}
        settled = entries[markets["url"]]
        assert settled.capture_outcome == "captured" and settled.capture_id is not None
        assert settled.matched == ("Banco Central",)  # matched at poll time, not matched twice
        assert jobs.list_jobs(archive.sessions, report.job)[0].stage == jobs.FETCHING  # one to go
        rest = next(m for m in messages if m is not markets)
        archive.commit_captures([dataclasses.replace(
            html_capture(rest["url"]), captured_at=datetime.now(UTC), context=rest["context"])])
        assert settle_feed_job(config, archive.sessions, report.job, now=later) == 1
        assert jobs.list_jobs(archive.sessions, report.job)[0].stage == jobs.SETTLED
        assert {e.capture_outcome for e in entries_of(archive.sessions, name)} == {"captured"}
    finally:
        archive.close()
    # the next poll has nothing new and re-captures nothing
    again = poll_feeds(config, [name], queue=True)
    assert again.job is None and again.entries == []
