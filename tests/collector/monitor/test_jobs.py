"""Adaptive re-visits (pure), run fencing and the lease (both databases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.monitor.jobs import UrlHistory, adaptive_due, adaptive_interval, url_history
from storage.database import connect
from storage.monitoring import abandon_runs, acquire_lease, get_lease, release_lease, runs_of, start_run

T0 = datetime(2027, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Cap:
    captured_at: datetime
    outcome: str = "captured"
    http_status: int | None = 200
    sha256: str | None = "a"
    text_sha256: str | None = "t"


@dataclass
class Chk:
    checked_at: datetime
    status: str


def test_adaptive_backs_off_then_tightens() -> None:
    first = [Cap(T0)]
    assert adaptive_interval(url_history(first), T0 + 2 * DAY) == DAY
    assert adaptive_interval(url_history(first), T0 + 10 * DAY) == 7 * DAY
    assert adaptive_interval(url_history(first), T0 + 60 * DAY) == 30 * DAY
    changed = [Cap(T0), Cap(T0 + 50 * DAY, text_sha256="t2")]  # a change: daily again
    assert url_history(changed).last_event == T0 + 50 * DAY
    assert adaptive_interval(url_history(changed), T0 + 52 * DAY) == DAY
    failed = [Cap(T0), Cap(T0 + 50 * DAY, outcome="failed", http_status=None)]
    assert adaptive_interval(url_history(failed), T0 + 51 * DAY) == DAY
    gone = url_history([Cap(T0)], [Chk(T0 + 40 * DAY, "unchanged"), Chk(T0 + 45 * DAY, "gone")])
    assert gone.last_event == T0 + 45 * DAY and gone.last_seen == T0 + 45 * DAY


def test_adaptive_due() -> None:
    assert adaptive_due(UrlHistory(None, None, None), T0)
    history = url_history([Cap(T0), Cap(T0 + 20 * DAY)])
    assert not adaptive_due(history, T0 + 26 * DAY)  # weekly now
    assert adaptive_due(history, T0 + 27 * DAY)
    assert adaptive_due(history, T0 + 27 * DAY - timedelta(minutes=20), slack=timedelta(minutes=30))


def test_lease_and_fenced_runs(db_url: str) -> None:
    sessions = connect(db_url)
    try:
        assert acquire_lease(sessions, "scheduler", "a", now=T0, ttl=30)
        assert not acquire_lease(sessions, "scheduler", "b", now=T0 + timedelta(seconds=10), ttl=30)
        assert acquire_lease(sessions, "scheduler", "a", now=T0 + timedelta(seconds=20), ttl=30)  # renew
        run, why = start_run(sessions, job_id="j", schedule_id=1, scheduled_for=T0, holder="a",
                             lease="scheduler", now=T0 + timedelta(seconds=21))
        assert run is not None and why == "started"
        again, why = start_run(sessions, job_id="j", schedule_id=1, scheduled_for=T0, holder="a",
                               lease="scheduler", now=T0 + timedelta(seconds=22))
        assert again is None and why == "ran"
        intruder, why = start_run(sessions, job_id="j", schedule_id=1, scheduled_for=T0 + DAY,
                                  holder="b", lease="scheduler", now=T0 + timedelta(seconds=22))
        assert intruder is None and why == "not-leader"
        later = T0 + timedelta(seconds=51)  # a's lease expired (renewed at 20 s for 30 s): b takes over
        assert acquire_lease(sessions, "scheduler", "b", now=later, ttl=30)
        assert abandon_runs(sessions, "b", later) == 1  # a's run will never finish
        stale, why = start_run(sessions, job_id="j", schedule_id=1, scheduled_for=T0 + DAY, holder="a",
                               lease="scheduler", now=later)
        assert stale is None and why == "not-leader"
        release_lease(sessions, "scheduler", "a")  # not the holder: nothing happens
        lease = get_lease(sessions, "scheduler")
        assert lease is not None and lease.holder == "b"
        release_lease(sessions, "scheduler", "b")
        assert get_lease(sessions, "scheduler") is None
    finally:
        sessions.kw["bind"].dispose()


def test_jobs_run_in_process(server: str, home: Any) -> None:
    """The job functions themselves, with a runtime as the daemon sets it: a check schedule, an
    adaptive capture schedule (captures once, then not again the same day), a paused one."""
    from collector.monitor.jobs import JobRuntime, run_schedule, set_runtime
    from collector.monitor.scheduler import add_schedule, pause_schedule
    from storage.checks import checks_of
    from tests.conftest import make_config

    config = make_config(home)
    check = add_schedule(config, urls=[server + "/page/job-check"], every=3600, action="check")
    adaptive = add_schedule(config, urls=[server + "/page/job-adaptive"], adaptive=True)
    paused = add_schedule(config, urls=[server + "/page/job-paused"], every=60)
    pause_schedule(config, paused.schedule.id)
    sessions = connect(config.db_url)
    set_runtime(JobRuntime(config=config, sessions=sessions, holder="me",
                           lease=None, clock=lambda: datetime.now(UTC)))
    try:
        run_schedule(check.schedule.id)
        run_schedule(adaptive.schedule.id)
        run_schedule(adaptive.schedule.id)  # a second slot, same day: not due again
        run_schedule(paused.schedule.id)
        runs = {r.job_id: r for r in runs_of(sessions)}
        checks = checks_of(sessions, server + "/page/job-check")
    finally:
        set_runtime(None)
        sessions.kw["bind"].dispose()
    assert runs[check.schedule.job_id].summary == {"urls": 1, "statuses": {checks[0].status: 1}}
    assert [r.summary for r in runs_of_all(config, adaptive.schedule.job_id)] == [
        {"urls": 1, "captured": 1}, {"urls": 0}]
    assert paused.schedule.job_id not in runs


def runs_of_all(config: Any, job_id: str) -> list[Any]:
    sessions = connect(config.db_url)
    try:
        return runs_of(sessions, job_id)
    finally:
        sessions.kw["bind"].dispose()
