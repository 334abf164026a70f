"""Webhooks received by a local server: verdict changes, feed matches, retries with backoff, failures
kept; and the daemon delivering by itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.config import MonitorConfig
from collector.errors import InputError
from collector.monitor.feeds import add_feed, poll_feeds
from collector.monitor.keywords import parse_keywords
from collector.monitor.notify import add_webhook, backoff_delay, collect_events, deliver_due, parse_events
from storage.checks import add_checks
from storage.database import connect
from storage.monitoring import list_deliveries
from storage.records import CheckRecord
from tests.collector.cli.test_cli import lines, run
from tests.collector.monitor.conftest import DaemonProcess, control, get_json, post_json, wait_for
from tests.conftest import make_config

FAST = MonitorConfig(notify_backoff=0.0, notify_max_attempts=3, notify_timeout=5)


def _check(url: str, status: str, at: datetime, **kw: Any) -> CheckRecord:
    return CheckRecord(url=url, checked_at=at, capture_id=None, baseline_id=None, status=status, **kw)


def _received(hook_server: str, name: str) -> list[dict[str, Any]]:
    return list(get_json(f"{hook_server}/_received?name={name}"))


def test_verdict_changes_are_posted_once(hook_server: str, home: Path, db_url: str) -> None:
    config = make_config(home, database_url=db_url)
    name = uuid.uuid4().hex[:8]
    sessions = connect(config.db_url)
    try:
        now = datetime.now(UTC)
        add_checks(sessions, [_check("https://ex.org/old", "gone", now)])  # before the webhook: ignored
        add_webhook(config, f"{hook_server}/hook/{name}", ["change", "gone", "soft-404"])
        add_checks(sessions, [
            _check("https://ex.org/a", "unchanged", now),
            _check("https://ex.org/a", "gone", now + timedelta(seconds=1)),  # change of verdict
            _check("https://ex.org/a", "gone", now + timedelta(seconds=2)),  # same verdict: nothing
            _check("https://ex.org/b", "changed", now, report="peru", ref="12"),
            _check("https://ex.org/c", "blocked", now),  # not subscribed
            _check("https://ex.org/d", "soft-404", now),
        ])
        assert collect_events(sessions, now) == 3
        assert collect_events(sessions, now) == 0  # cursors moved: nothing queued twice
        attempted = deliver_due(sessions, FAST, user_agent="collector-test")
        assert len(attempted) == 3
    finally:
        sessions.kw["bind"].dispose()
    got = _received(hook_server, name)
    bodies = sorted((g["body"]["event"], g["body"]["url"]) for g in got)
    assert bodies == [("change", "https://ex.org/b"), ("gone", "https://ex.org/a"),
                      ("soft-404", "https://ex.org/d")]
    change = next(g for g in got if g["body"]["event"] == "change")
    assert change["body"]["report"] == "peru" and change["body"]["ref"] == "12"
    assert change["headers"]["Content-Type"] == "application/json"
    assert change["headers"]["X-Collector-Event"] == "change"
    gone = next(g for g in got if g["body"]["event"] == "gone")
    assert gone["body"]["previous_status"] == "unchanged" and gone["body"]["status"] == "gone"


def test_retries_with_backoff_and_keeps_failures(hook_server: str, home: Path) -> None:
    config = make_config(home)
    ok, bad = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    post_json(hook_server + "/_control", {"name": ok, "fail": 2})
    post_json(hook_server + "/_control", {"name": bad, "fail": 100})
    add_webhook(config, f"{hook_server}/hook/{ok}", ["gone"])
    add_webhook(config, f"{hook_server}/hook/{bad}", ["gone"])
    add_webhook(config, "http://127.0.0.1:1/refused", ["gone"])
    sessions = connect(config.db_url)
    try:
        add_checks(sessions, [_check("https://ex.org/x", "gone", datetime.now(UTC))])
        collect_events(sessions, datetime.now(UTC))
        for _ in range(4):
            deliver_due(sessions, FAST, user_agent="collector-test")
        deliveries = {d.url: d for d in list_deliveries(sessions)}
    finally:
        sessions.kw["bind"].dispose()
    assert [g["status"] for g in _received(hook_server, ok)] == [500, 500, 204]
    assert deliveries[f"{hook_server}/hook/{ok}"].status == "delivered"
    assert deliveries[f"{hook_server}/hook/{ok}"].attempts == 3
    failed = deliveries[f"{hook_server}/hook/{bad}"]
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "HTTP 500")
    refused = deliveries["http://127.0.0.1:1/refused"]
    assert refused.status == "failed" and "refused" in (refused.last_error or "").lower()
    settings = MonitorConfig(notify_backoff=30, notify_max_backoff=3600)
    assert [backoff_delay(n, settings) for n in (1, 2, 3, 9)] == [30, 60, 120, 3600]


def test_backoff_waits_before_retrying(hook_server: str, home: Path) -> None:
    config = make_config(home)
    name = uuid.uuid4().hex[:8]
    post_json(hook_server + "/_control", {"name": name, "fail": 1})
    add_webhook(config, f"{hook_server}/hook/{name}", ["gone"])
    sessions = connect(config.db_url)
    try:
        add_checks(sessions, [_check("https://ex.org/y", "gone", datetime.now(UTC))])
        collect_events(sessions, datetime.now(UTC))
        slow = MonitorConfig(notify_backoff=60)
        assert len(deliver_due(sessions, slow, user_agent="t")) == 1  # fails: retry in 60 s
        assert deliver_due(sessions, slow, user_agent="t") == []  # not yet
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert len(deliver_due(sessions, slow, user_agent="t", now=later)) == 1
    finally:
        sessions.kw["bind"].dispose()
    assert [g["status"] for g in _received(hook_server, name)] == [500, 204]


def test_feed_match_is_posted_by_the_cli(hook_server: str, feed_server: str, home: Path) -> None:
    config = make_config(home)
    name, feed = uuid.uuid4().hex[:8], "n" + uuid.uuid4().hex[:6]
    control(feed_server, feed, add=[{"title": "Acme recalls cars"}, {"title": "Weather"}])
    add_feed(config, f"{feed_server}/feed/{feed}.xml", name=feed, keywords=parse_keywords("acme"),
             match_text=False)
    added = run(home, "notify", "add", f"{hook_server}/hook/{name}", "--on", "new-match", "--json")
    assert added.returncode == 0, added.stderr.decode()
    poll_feeds(config, [feed])
    delivered = run(home, "notify", "deliver", "--json")
    assert delivered.returncode == 0, delivered.stderr.decode()
    assert [d["status"] for d in lines(delivered)] == ["delivered"]
    body = _received(hook_server, name)[0]["body"]
    assert body["event"] == "new-match" and body["feed"] == feed and body["matched"] == ["acme"]
    assert body["title"] == "Acme recalls cars" and body["captured"] is True and body["capture_id"]
    listed = lines(run(home, "notify", "deliveries", "--json"))
    assert listed[0]["status"] == "delivered" and listed[0]["attempts"] == 1
    assert run(home, "notify", "add", "https://x.example/", "--on", "sometimes").returncode == 2


@pytest.mark.slow  # a daemon process
def test_daemon_delivers_without_blocking_jobs(hook_server: str, server: str, home: Path,
                                               tmp_path: Path) -> None:
    """Causality, not wall time: the webhook receiver holds the first POST until the test has seen a
    capture job finish meanwhile. Were jobs blocked by the delivery, none would finish while it is
    held, and the wait below would fail."""
    name = uuid.uuid4().hex[:8]
    post_json(hook_server + "/_control", {"name": name, "fail": 1, "hold": True})  # held, then fails
    assert run(home, "notify", "add", f"{hook_server}/hook/{name}", "--on", "gone").returncode == 0
    assert run(home, "schedule", "add", server + "/page/meanwhile", "--every", "1s").returncode == 0
    sessions = connect(f"sqlite:///{home / 'collector.db'}")
    try:
        add_checks(sessions, [_check("https://ex.org/z", "gone", datetime.now(UTC))])
    finally:
        sessions.kw["bind"].dispose()
    daemon = DaemonProcess(home, None, log=tmp_path / "d.log")

    def jobs_done() -> int:
        return sum(1 for e in daemon.events() if e.get("event") == "job.done")

    try:
        wait_for(lambda: get_json(f"{hook_server}/_holding?name={name}"), 60)  # the POST is in flight
        before = jobs_done()
        wait_for(lambda: jobs_done() > before, 60)  # ... and a capture job finishes meanwhile
        assert get_json(f"{hook_server}/_holding?name={name}") == 1  # still held: it was concurrent
        post_json(hook_server + "/_release", {"name": name})
        wait_for(lambda: [g for g in _received(hook_server, name) if g["status"] == 204], 60)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    names = [e.get("event") for e in daemon.events()]
    assert names.index("notify.retry") < names.index("notify.delivered")


def test_parse_events() -> None:
    assert parse_events("change, gone,change,new-match") == ["change", "gone", "new-match"]
    with pytest.raises(InputError, match="sometimes"):
        parse_events("gone,sometimes")
