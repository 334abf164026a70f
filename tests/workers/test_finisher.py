"""The finisher's trim of the duplicate filter (both databases, real Redis): the one set of requests of
no job that older versions left without an expiry is given the window's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collector.workers.finisher import trim_dupefilters
from collector.workers.queue import QueueKeys
from storage.archive import Archive
from tests.conftest import make_config
from tests.workers.conftest import REDIS_URL


def test_the_unbounded_set_of_older_versions_is_given_the_windows_expiry(
        home: Path, db_url: str, redis_prefix: tuple[str, Any]) -> None:
    prefix, server = redis_prefix
    config = make_config(home, database_url=db_url, redis_url=REDIS_URL, redis_prefix=prefix,
                         dupefilter_window=600)
    keys = QueueKeys(prefix)
    server.sadd(keys.dupefilter, "a fingerprint of an older version")
    assert server.ttl(keys.dupefilter) == -1  # never expires: what this trim bounds
    archive = Archive.from_settings(config)
    try:
        assert trim_dupefilters(archive.sessions, server, keys, expire=config.job_lease,
                                window=config.dupefilter_window) == []
    finally:
        archive.close()
    assert 0 < server.ttl(keys.dupefilter) <= 600
