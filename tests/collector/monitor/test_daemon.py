"""``collector run`` as a real subprocess: runs jobs, stops gracefully, coalesces missed runs, and two
daemons on one database never both run jobs."""

from __future__ import annotations

import itertools
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.database import connect
from storage.monitoring import RunRecord, get_lease, runs_of
from storage.queries import snapshots
from tests.collector.cli.test_cli import lines, run
from tests.collector.monitor.conftest import DaemonProcess, wait_for

pytestmark = pytest.mark.slow  # daemon processes


def _db(home: Path, db_url: str | None = None) -> str:
    return db_url or f"sqlite:///{(home / 'collector.db').resolve()}"


def _runs(url: str, job: str | None = None) -> list[RunRecord]:
    sessions = connect(url)
    try:
        return runs_of(sessions, job)
    finally:
        sessions.kw["bind"].dispose()


def _captures(url: str, page: str) -> list[Any]:
    sessions = connect(url)
    try:
        return snapshots(sessions, page)
    finally:
        sessions.kw["bind"].dispose()


def _add(home: Path, *args: str, db_url: str | None = None) -> dict[str, Any]:
    proc = run(home, *(["--db", db_url] if db_url else []), "schedule", "add", *args, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return lines(proc)[0]


def _ok(runs: list[RunRecord], job: str, after: datetime | None = None) -> list[RunRecord]:
    return [r for r in runs if r.job_id == job and r.status == "ok"
            and (after is None or r.started_at >= after)]


def test_restart_coalesces_missed_runs_and_nothing_runs_twice(server: str, home: Path,
                                                              tmp_path: Path) -> None:
    db = _db(home)
    page = server + "/page/daemon-every-2s"
    job = _add(home, page, "--every", "2s")["job_id"]
    first = DaemonProcess(home, None, log=tmp_path / "first.log")
    try:
        wait_for(lambda: len(_ok(_runs(db), job)) >= 2, 90)
        late = _add(home, server + "/page/added-while-running", "--every", "1h")  # picked up live
        assert first.stop() == 0
    finally:
        first.kill()
    stopped = datetime.now(UTC)
    assert {"daemon.stopping", "lease.released", "daemon.stopped"} <= {e.get("event") for e in
                                                                       first.events()}
    time.sleep(7)  # three or more slots of the 2 s schedule are missed
    restarted = datetime.now(UTC)
    second = DaemonProcess(home, None, log=tmp_path / "second.log")
    try:
        wait_for(lambda: len(_ok(_runs(db), job, restarted)) >= 2, 90)
        assert second.stop() == 0
    finally:
        second.kill()

    runs = _runs(db, job)
    assert runs and all(r.status == "ok" for r in runs), runs
    slots = [r.scheduled_for for r in runs]
    assert len(slots) == len(set(slots)), "a slot ran twice"
    for before, after in itertools.pairwise(runs):  # one instance at a time
        assert after.started_at >= (before.finished_at or after.started_at)
    # the first run after the restart stands for every slot missed while no daemon ran
    resumed = next(r for r in runs if r.started_at >= restarted)
    assert resumed.scheduled_for > stopped
    assert (resumed.started_at - stopped).total_seconds() >= 3 * 2, "at least three slots were missed"
    assert not [r for r in runs if stopped < r.scheduled_for and r is not resumed
                and r.scheduled_for <= resumed.scheduled_for], "missed slots must be coalesced into one run"
    captured = [c for c in _captures(db, page) if c.outcome == "captured"]
    assert len(captured) == len(runs), "every run captured exactly once"
    assert _runs(db, late["job_id"]) == []  # its first slot is an hour away
    for daemon in (first, second):
        assert not any("Traceback" in e.get("raw", "") or e.get("level") == "error"
                       for e in daemon.events()), daemon.events()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_lets_the_capture_in_flight_finish(server: str, home: Path, tmp_path: Path,
                                                    sig: int) -> None:
    db = _db(home)
    page = server + "/slow?s=3"
    job = _add(home, page, "--every", "1s")["job_id"]
    daemon = DaemonProcess(home, None, log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: any(e.get("event") == "job.start" for e in daemon.events()), 60)
        time.sleep(1.0)  # the crawl child is up and the slow page is being fetched
        assert daemon.stop(sig) == 0
    finally:
        daemon.kill()
    events = [e.get("event") for e in daemon.events()]
    assert events.index("daemon.stopping") < events.index("job.done") < events.index("daemon.stopped")
    runs = _runs(db, job)
    assert [r.status for r in runs] == ["ok"] and runs[0].summary.get("captured") == 1
    assert [c.http_status for c in _captures(db, page)] == [200]


def test_two_daemons_one_runs_jobs_and_takes_over(server: str, home: Path, tmp_path: Path,
                                                  db_url: str) -> None:
    job = _add(home, server + "/page/leased", "--every", "1s", db_url=db_url)["job_id"]
    a = DaemonProcess(home, db_url, log=tmp_path / "a.log")
    b = DaemonProcess(home, db_url, log=tmp_path / "b.log")
    try:
        holder_a, holder_b = a.holder(), b.holder()
        wait_for(lambda: len(_ok(_runs(db_url), job)) >= 3, 90)
        sessions = connect(db_url)
        try:
            leader = get_lease(sessions, "scheduler")
        finally:
            sessions.kw["bind"].dispose()
        assert leader is not None and leader.holder in (holder_a, holder_b)
        first, standby = (a, b) if leader.holder == holder_a else (b, a)
        holder_first, holder_standby = leader.holder, (holder_b if leader.holder == holder_a else holder_a)
        assert {r.holder for r in _runs(db_url)} == {holder_first}
        assert "lease.standby" in {e.get("event") for e in standby.events()}

        first.stop(signal.SIGKILL)  # dies without releasing its lease
        killed = datetime.now(UTC)
        wait_for(lambda: len([r for r in _ok(_runs(db_url), job) if r.holder == holder_standby]) >= 2, 90)
        assert standby.stop() == 0
    finally:
        a.kill()
        b.kill()
    runs = _runs(db_url, job)
    slots = Counter(r.scheduled_for for r in runs)
    assert max(slots.values()) == 1, "a slot ran twice"
    takeover = min(r.started_at for r in runs if r.holder == holder_standby)
    assert all(r.started_at < takeover for r in runs if r.holder == holder_first)
    assert takeover > killed and (takeover - killed).total_seconds() < 30
    assert all(r.status in ("ok", "interrupted") for r in runs)
    acquired = [e for e in standby.events() if e.get("event") == "lease.acquired"]
    assert len(acquired) == 1


def test_daemon_polls_due_feeds(feed_server: str, home: Path, tmp_path: Path) -> None:
    from storage.monitoring import entries_of
    from tests.collector.monitor.conftest import control

    name = "daemonfeed" + str(time.time_ns())[-6:]
    control(feed_server, name, grow=2)
    assert run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name, "--every",
               "2s").returncode == 0
    db = _db(home)

    def entries() -> int:
        sessions = connect(db)
        try:
            return len(entries_of(sessions, name))
        finally:
            sessions.kw["bind"].dispose()

    daemon = DaemonProcess(home, None, "--feed-tick", "1", log=tmp_path / "d.log")
    try:
        wait_for(lambda: entries() == 2, 60)
        control(feed_server, name, grow=1)  # the feed grows while the daemon watches it
        wait_for(lambda: entries() == 3, 60)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    runs = [r for r in _runs(db, "collector-feeds") if r.status == "ok"]
    assert len(runs) >= 2 and sum(r.summary["new_entries"] for r in runs) == 3


def test_a_busy_job_is_logged_once_with_a_count(server: str, home: Path, tmp_path: Path) -> None:
    job = _add(home, server + "/slow?s=4", "--every", "1s")["job_id"]
    daemon = DaemonProcess(home, None, log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: any(e.get("event") == "job.done" for e in daemon.events()), 90)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    events = [e for e in daemon.events() if e.get("job") == job]
    names = [e["event"] for e in events]
    first_done = names.index("job.done")
    # while the first run went on (4 s and more), 1 s slots came and were skipped: said once, counted
    assert names[:first_done].count("job.busy") == 1, names
    total = next(e for e in events if e["event"] == "job.busy.total")
    busy = next(e for e in events if e["event"] == "job.busy")
    assert busy["slot"] == total["first_slot"] and total["skipped"] >= 2
    # nothing is lost: every 1 s slot from the first skipped to the last is in the count
    first, last = (datetime.fromisoformat(total[k].replace("Z", "+00:00")) for k in ("first_slot",
                                                                                       "last_slot"))
    assert round((last - first).total_seconds()) == total["skipped"] - 1
    assert not any(e.get("level") == "error" for e in daemon.events())


def test_repeated_lease_errors_are_logged_once_with_a_count(home: Path) -> None:
    import io
    import json
    import logging
    from datetime import timedelta

    from collector.monitor.daemon import Daemon, setup_logging
    from tests.conftest import make_config

    saved = {name: (lg.handlers[:], lg.level, lg.propagate)
             for name in ("collector", "apscheduler") for lg in [logging.getLogger(name)]}
    stream = io.StringIO()
    setup_logging("json", stream)
    try:
        daemon = Daemon(make_config(home), holder="h")
        start = datetime(2027, 6, 1, tzinfo=UTC)
        for n in range(5):  # the database stays unreachable for five renewals
            daemon._lease_error(start + timedelta(seconds=n), "OperationalError: unable to open database")
        daemon._lease_error(start + timedelta(seconds=5), "OperationalError: disk I/O error")
        daemon._lease_recovered(start + timedelta(seconds=9))
        daemon._lease_recovered(start + timedelta(seconds=10))  # nothing more to say
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e.get("errors")) for e in events] == [
        ("lease.error", None), ("lease.error", 6), ("lease.recovered", 6)]
    assert events[0]["error"].endswith("unable to open database")
    assert events[2]["since"] == "2027-06-01T00:00:00Z" and events[2]["seconds"] == 9


def _run_statuses(home: Path) -> list[str]:
    sessions = connect(_db(home))
    try:
        return [r.status for r in runs_of(sessions)]
    finally:
        sessions.kw["bind"].dispose()


def test_one_stop_request_signalled_twice_is_one_request(server: str, home: Path, tmp_path: Path) -> None:
    """``timeout(1)`` signals the process and then its process group: a second SIGTERM right after the
    first (here: once the first was handled, so the two cannot coalesce) is the same request to stop
    gracefully, not a forced exit."""
    _add(home, server + "/slow?s=2", "--every", "1s")
    daemon = DaemonProcess(home, None, log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: any(e.get("event") == "job.start" for e in daemon.events()), 60)
        daemon.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: any(e.get("event") == "daemon.stopping" for e in daemon.events()), 30)
        assert daemon.stop() == 0  # the second SIGTERM
    finally:
        daemon.kill()
    events = [e.get("event") for e in daemon.events()]
    assert "daemon.forced-exit" not in events and "daemon.stopped" in events
    assert "running" not in _run_statuses(home)


def test_a_forced_exit_marks_its_runs_interrupted(server: str, home: Path, tmp_path: Path) -> None:
    gate = f"forced-{tmp_path.name}"  # never opened: the capture stays in flight
    _add(home, f"{server}/gate/{gate}", "--every", "1s")
    daemon = DaemonProcess(home, None, log=tmp_path / "daemon.log")
    try:
        wait_for(lambda: "running" in _run_statuses(home), 60)
        daemon.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: any(e.get("event") == "daemon.stopping" for e in daemon.events()), 30)
        time.sleep(2.5)  # past the repeat window: the next signal is a second request
        assert daemon.stop() == 1
    finally:
        daemon.kill()
    assert "daemon.forced-exit" in [e.get("event") for e in daemon.events()]
    assert _run_statuses(home) == ["interrupted"]
