"""The feed queries (``storage.feeds``) and schedule edits, on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage import feeds as db
from storage import monitoring
from storage.database import connect
from storage.feeds import FeedUpdate, NewEntry

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(db_url: str) -> Iterator[Any]:
    """A session factory on a fresh database."""
    factory = connect(db_url)
    yield factory
    factory.kw["bind"].dispose()


def _entry(n: int, *, guid: str | None = None, link: str | None = None, title: str | None = None) -> NewEntry:
    guid = guid if guid is not None else f"g{n}"
    link = link or f"https://x/{n}"
    return NewEntry(guid=guid, guid_key=f"gk-{guid}" if guid else None, link=link,
                    link_key=f"lk-{link}", title=title or f"Story {n}",
                    title_key=f"tk-{title or n}", summary=f"Summary {n}", published=NOW + timedelta(n))


def _feed(sessions: Any, name: str = "f") -> db.FeedRecord:
    return db.add_feed(sessions, name=name, url=f"https://x/{name}.xml", keywords=[], capture_all=False,
                       match_text=True, interval=3600, now=NOW)


def test_store_entries_dedups_in_one_batch_and_against_stored(sessions: Any) -> None:
    feed = _feed(sessions)
    batch = [_entry(1), _entry(2), _entry(3, guid="g1"), _entry(4, link="https://x/2"), _entry(5)]
    stored = db.store_entries(sessions, feed, batch, now=NOW, feed_capture_id=None)
    assert [e.guid for e in stored] == ["g1", "g2", "g5"]  # the first of entries sharing a key wins
    assert stored[0].id < stored[1].id < stored[2].id
    assert (stored[0].feed, stored[0].title, stored[0].published, stored[0].first_seen_at) == (
        "f", "Story 1", NOW + timedelta(1), NOW)
    assert db.store_entries(sessions, feed, batch, now=NOW, feed_capture_id=None) == []
    again = db.store_entries(sessions, feed, [_entry(6), _entry(2)], now=NOW, feed_capture_id=None)
    assert [e.guid for e in again] == ["g6"]
    listed = db.entries_of(sessions, "f")
    assert [e.id for e in listed] == [again[0].id] + [e.id for e in reversed(stored)]
    other = _feed(sessions, "other")  # keys are per feed
    assert len(db.store_entries(sessions, other, batch[:2], now=NOW, feed_capture_id=None)) == 2


def test_concurrent_pollers_store_an_entry_once(sessions: Any) -> None:
    feed = _feed(sessions)
    batch = [_entry(n) for n in range(30)]
    barrier = threading.Barrier(3)
    stored: list[int] = []
    errors: list[BaseException] = []

    def poller() -> None:
        barrier.wait()
        try:
            stored.extend(e.id for e in db.store_entries(sessions, feed, batch, now=NOW,
                                                           feed_capture_id=None))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poller) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(stored) == len(set(stored)) == 30
    assert len(db.entries_of(sessions, "f", limit=100)) == 30


def test_record_polls_in_groups(sessions: Any) -> None:
    quiet, busy, broken = (_feed(sessions, n) for n in ("quiet", "busy", "broken"))

    def poll(outcome: str, **kw: Any) -> FeedUpdate:
        return FeedUpdate(polled_at=NOW, outcome=outcome, http_status=kw.pop("status", 200), capture_id=None,
                          interval=kw.pop("interval", 4500.0), next_poll_at=NOW + timedelta(hours=1), **kw)

    db.record_polls(sessions, [
        (quiet.id, poll("not-modified", status=304)),
        (busy.id, poll("fetched", new_entries=3, etag='"e1"', last_modified="Tue, 01 Jun 2027 10:00:00 GMT",
                       title="Busy feed", warning="SAXParseException: bad")),
        (broken.id, poll("failed", status=500, interval=7200.0, error="HTTP 500")),
    ])
    db.record_polls(sessions, [(broken.id, poll("failed", status=None, error="connection-refused"))])
    got = {f.name: f for f in db.list_feeds(sessions)}
    assert (got["quiet"].last_status, got["quiet"].interval, got["quiet"].etag) == (304, 4500.0, None)
    assert got["quiet"].last_success_at == NOW and got["quiet"].last_new_entry_at is None
    assert (got["busy"].etag, got["busy"].title, got["busy"].warning, got["busy"].warning_at,
            got["busy"].last_new_entry_at) == ('"e1"', "Busy feed", "SAXParseException: bad", NOW, NOW)
    assert got["busy"].last_modified == "Tue, 01 Jun 2027 10:00:00 GMT"
    assert (got["broken"].consecutive_failures, got["broken"].last_error, got["broken"].last_status) == (
        2, "connection-refused", None)
    assert got["broken"].last_success_at is None
    db.record_polls(sessions, [(broken.id, poll("not-modified", status=304))])
    assert db.get_feed(sessions, "broken").consecutive_failures == 0  # type: ignore[union-attr]
    db.record_polls(sessions, [])


def test_pending_entries_and_captures(sessions: Any) -> None:
    feed, other = _feed(sessions), _feed(sessions, "other")
    mine = db.store_entries(sessions, feed, [_entry(1), _entry(2)], now=NOW, feed_capture_id=None)
    theirs = db.store_entries(sessions, other, [_entry(1)], now=NOW, feed_capture_id=None)
    db.set_entry_captures(sessions, [(e.id, None, "pending") for e in mine + theirs])
    db.set_entry_captures(sessions, [(mine[0].id, None, "failed")])
    assert [e.id for e in db.pending_entries(sessions, [feed.id])] == [mine[1].id]
    assert [e.id for e in db.pending_entries(sessions, [feed.id, other.id])] == [mine[1].id, theirs[0].id]
    assert db.pending_entries(sessions, []) == []
    assert db.entries_of(sessions, "f", outcome="failed")[0].id == mine[0].id
    assert db.last_document_digest(sessions, feed.id) is None  # never fetched


def test_update_schedule(sessions: Any) -> None:
    record = monitoring.add_schedule(sessions, kind="urls", targets=["https://x/a"], action="capture",
                                     every_seconds=3600, cron=None, adaptive=False, now=NOW)
    cron = monitoring.update_schedule(sessions, record.id, every_seconds=None, cron="0 3 * * *")
    assert cron is not None and (cron.every_seconds, cron.cron, cron.action) == (None, "0 3 * * *", "capture")
    action = monitoring.update_schedule(sessions, record.id, action="check", adaptive=True)
    assert action is not None
    assert (action.cron, action.action, action.adaptive) == ("0 3 * * *", "check", True)
    assert monitoring.get_schedule(sessions, record.id) == action
    assert monitoring.update_schedule(sessions, 999, action="check") is None
