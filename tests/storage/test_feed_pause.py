"""A paused feed has no next poll time: due-feed polls skip it, a poll that ends meanwhile (or one asked
for by name) leaves it paused, and resuming makes it due at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage import feeds as db
from storage.feeds import FeedUpdate
from tests.storage.test_monitoring_feeds import NOW, _feed, sessions  # noqa: F401 (the fixture)


def _poll(when: Any) -> FeedUpdate:
    return FeedUpdate(polled_at=when, outcome="not-modified", http_status=304, capture_id=None,
                      interval=3600.0, next_poll_at=when + timedelta(hours=1))


def test_pause_survives_a_poll_and_resume_makes_it_due(sessions: Any) -> None:  # noqa: F811
    paused, running = _feed(sessions, "paused"), _feed(sessions, "running")
    assert {f.name for f in db.due_feeds(sessions, NOW)} == {"paused", "running"}
    record = db.set_feed_paused(sessions, "paused", True, NOW)
    assert record is not None and record.paused and record.next_poll_at is None
    assert [f.name for f in db.due_feeds(sessions, NOW + timedelta(days=30))] == ["running"]
    db.record_polls(sessions, [(paused.id, _poll(NOW)), (running.id, _poll(NOW))])
    got = {f.name: f for f in db.list_feeds(sessions)}
    assert got["paused"].paused and got["paused"].last_status == 304  # polled, and still paused
    assert got["running"].next_poll_at == NOW + timedelta(hours=1)
    resumed = db.set_feed_paused(sessions, "paused", False, NOW + timedelta(days=2))
    assert resumed is not None and not resumed.paused
    assert resumed.next_poll_at == NOW + timedelta(days=2)
    assert db.set_feed_paused(sessions, "nope", True, NOW) is None
