"""The duplicate filter of requests of no job on a real Redis: a duplicate is filtered within the window
(also across two of its time buckets), and once the window is over no set of it is left."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from spiders.capture import TARGET_KEY
from spiders.queued import AttemptDupeFilter, QueuedCaptureSpider, window_keys
from tests.workers.conftest import REDIS_URL, redis_or_skip

WINDOW = 1  # second: the shortest window, so the test waits for it to pass


@pytest.fixture
def server() -> Iterator[Any]:
    """A client of the test Redis."""
    client = redis_or_skip()
    yield client
    client.close()


@pytest.fixture
def key(server: Any) -> Iterator[str]:
    """A duplicate filter key of this test's own; its sets are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}:capture-queue:dupefilter"
    yield name
    left = list(server.scan_iter(f"{name}*"))
    if left:
        server.delete(*left)


def _wait_for_bucket(server: Any, bucket: int) -> None:
    """Sleep until Redis's clock (the filter's) is in time bucket ``bucket`` or later."""
    while True:
        seconds, micros = server.time()
        now = seconds + micros / 1e6
        if now // WINDOW >= bucket:
            return
        time.sleep(bucket * WINDOW - now + 0.02)


def _bucket(server: Any) -> int:
    return int(server.time()[0] // WINDOW)


def _live(server: Any, key: str) -> list[bytes]:
    """The filter's sets that still exist (EXISTS expires a due key, whatever SCAN has seen)."""
    return [k for k in server.scan_iter(window_keys(key)) if server.exists(k)]


def test_a_request_of_no_job_is_filtered_within_the_window_then_nothing_is_left(
        server: Any, key: str) -> None:
    dupes = AttemptDupeFilter(server, key, window=WINDOW)
    plain = Request("http://127.0.0.1:1/plain", meta={TARGET_KEY: {"url": "http://127.0.0.1:1/plain",
                                                                    "context": {}}})
    first = _bucket(server)
    assert not dupes.request_seen(plain)
    assert dupes.request_seen(plain)  # the same window
    sets = _live(server, key)
    assert sets and all(0 < server.ttl(k) <= 2 * WINDOW for k in sets)  # every set expires
    _wait_for_bucket(server, first + 1)
    assert dupes.request_seen(plain)  # the next bucket: still within the window of the first
    last = _bucket(server)
    _wait_for_bucket(server, last + 2)  # the window of the last sighting is over
    assert _live(server, key) == []  # no set of the filter is left
    assert not dupes.request_seen(plain)  # forgotten: a new request again


def test_the_window_comes_from_the_spiders_settings(server: Any, key: str) -> None:
    crawler = get_crawler(QueuedCaptureSpider, {"REDIS_URL": REDIS_URL, "SCHEDULER_DUPEFILTER_KEY": key,
                                                "COLLECTOR_DUPEFILTER_WINDOW": 7200})
    spider = QueuedCaptureSpider.from_crawler(crawler, redis_key=f"{key}:start")
    dupes = AttemptDupeFilter.from_spider(spider)
    assert (dupes.key, dupes.window) == (key, 7200)
    plain = Request("http://127.0.0.1:1/other")
    assert not dupes.request_seen(plain)
    [made] = _live(server, key)
    assert 0 < server.ttl(made) <= 2 * 7200
