"""Feed polls with dispatch = "queue": the poller reads the feed, a worker captures the articles and
settles the entries as a local poll does."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from collector.monitor.feeds import add_feed, poll_feeds
from collector.monitor.keywords import parse_keywords
from storage import jobs
from storage.database import connect
from storage.feeds import EntryRecord, entries_of
from storage.queries import captures_by_ids
from tests.collector.monitor.conftest import control
from tests.workers.conftest import Cluster, wait_until

pytestmark = pytest.mark.slow

STORIES = [
    {"title": "SÃO PAULO council votes", "summary": "A vote."},
    {"title": "Markets", "summary": "The <b>Banco Central</b> spoke."},
    {"title": "Weather", "summary": "Rain.", "text": "Later the banco central raised its rates."},
    {"title": "Football", "summary": "A match.", "text": "Nothing of interest."},
]


def _entries(sessions: Any, name: str) -> dict[str, EntryRecord]:
    return {e.title or "": e for e in entries_of(sessions, name)}


def test_a_queued_feed_poll_stores_the_entries_as_a_local_poll(cluster: Cluster, feed_server: str) -> None:
    store = cluster.root / "store"
    cluster.settings.update({"COLLECTOR_EXTRACT": "1", "COLLECTOR_EXTRACT_WORKERS": "1",
                             "COLLECTOR_WARC_STORE": str(store)})
    config = cluster.config(warc_store=str(store))
    keywords = parse_keywords("Sao Paulo, Banco Central")
    local, queued = "l" + uuid.uuid4().hex[:8], "q" + uuid.uuid4().hex[:8]
    for name in (local, queued):  # two feeds with the same stories
        control(feed_server, name, add=STORIES)
        add_feed(config, f"{feed_server}/feed/{name}.xml", name=name, keywords=keywords)
    here = poll_feeds(config, [local])

    there = poll_feeds(config.replace(dispatch="queue"), [queued], queue=True)
    assert there.job is not None
    assert {e["outcome"] for e in there.entries} == {"queued"}
    sessions = connect(config.db_url)
    assert {e.capture_outcome for e in _entries(sessions, queued).values()} == {"queued"}
    cluster.start("w1", concurrency=4)
    wait_until(lambda: jobs.list_jobs(sessions, there.job)[0].finished, 120, "the feed job to settle")
    assert set(cluster.stop_all().values()) == {0}, cluster.log("w1")[-2000:]

    assert jobs.list_jobs(sessions, there.job)[0].stage == jobs.SETTLED
    mine, theirs = _entries(sessions, queued), _entries(sessions, local)
    assert set(mine) == set(theirs) == {s["title"] for s in STORIES}
    for title, entry in theirs.items():
        assert (mine[title].capture_outcome, mine[title].matched) == (entry.capture_outcome, entry.matched)
    assert mine["Weather"].matched == ("Banco Central",)  # found in the article's text, by the worker
    local_lines = {e["title"]: (e["matched"], e["outcome"]) for e in here.entries}
    assert {t: (list(e.matched), e.capture_outcome) for t, e in mine.items()} == local_lines
    records = captures_by_ids(sessions, [e.capture_id or 0 for e in mine.values()])
    assert {r.url for r in records} == {e.link for e in mine.values()}
    assert {r.outcome for r in records} == {"captured"}
    # a second poll does not capture them again: they are no crashed poll's pending entries
    again = poll_feeds(config.replace(dispatch="queue"), [queued], queue=True)
    assert again.job is None and again.entries == []
    sessions.kw["bind"].dispose()
