"""``collector schedule`` as users run it, and what it leaves in APScheduler's job store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.monitor.conftest import control

FIELDS = {"id", "job_id", "kind", "targets", "action", "every", "cron", "adaptive", "paused",
          "created_at", "next_run_at"}


def test_add_list_pause_resume_remove(home: Path) -> None:
    added = run(home, "schedule", "add", "example.org/a", "https://example.org/b", "--every", "6h",
                "--json")
    no_traceback(added)
    assert added.returncode == 0, added.stderr.decode()
    first = lines(added)[0]
    assert first.keys() >= FIELDS
    assert first["targets"] == ["https://example.org/a", "https://example.org/b"]
    assert (first["kind"], first["action"], first["every"], first["paused"]) == ("urls", "capture", 21600,
                                                                                  False)
    cron = lines(run(home, "schedule", "add", "https://example.org/c", "--cron", "0 3 * * *",
                     "--action", "check", "--json"))[0]
    assert cron["cron"] == "0 3 * * *" and cron["next_run_at"].endswith("T03:00:00Z")
    adaptive = lines(run(home, "schedule", "add", "https://example.org/d", "--adaptive", "--json"))[0]
    assert adaptive["adaptive"] and adaptive["every"] == 3600

    engine = sa.create_engine(f"sqlite:///{home / 'collector.db'}")
    with engine.connect() as conn:  # the triggers live in APScheduler's SQLAlchemy job store
        jobs = dict(conn.execute(sa.text("SELECT id, next_run_time FROM apscheduler_jobs")).all())
    engine.dispose()
    assert set(jobs) == {"schedule-1", "schedule-2", "schedule-3"}

    paused = lines(run(home, "schedule", "pause", "1", "--json"))[0]
    assert paused["paused"] and paused["next_run_at"] is None
    resumed = lines(run(home, "schedule", "resume", "1", "--json"))[0]
    assert not resumed["paused"] and resumed["next_run_at"]
    assert lines(run(home, "schedule", "remove", "2", "--json")) == [{"id": 2, "removed": True}]
    assert [s["id"] for s in lines(run(home, "schedule", "list", "--json"))] == [1, 3]
    missing = run(home, "schedule", "pause", "2")
    assert missing.returncode == 1 and b"no schedule 2" in missing.stderr
    assert run(home, "schedule", "runs", "--json").stdout == b""


def test_editing_never_consumes_a_due_slot(home: Path) -> None:
    due = lines(run(home, "schedule", "add", "https://example.org/x", "--every", "1s", "--json"))[0]
    time.sleep(2.5)  # the slot is due now; only a daemon may run (and advance) it
    run(home, "schedule", "add", "https://example.org/y", "--every", "1h")
    run(home, "schedule", "pause", "2")
    listed = lines(run(home, "schedule", "list", "--json"))
    assert listed[0]["next_run_at"] == due["next_run_at"]


def test_report_and_feed_targets(home: Path, feed_server: str) -> None:
    control(feed_server, "sched", grow=1)
    assert run(home, "feed", "add", f"{feed_server}/feed/sched.xml", "--name", "sched").returncode == 0
    feed = lines(run(home, "schedule", "add", "--feed", "sched", "--every", "15m", "--json"))[0]
    assert (feed["kind"], feed["targets"]) == ("feed", ["sched"])
    missing = run(home, "schedule", "add", "--report", "nope", "--every", "1d")
    assert missing.returncode == 2 and b"nope" in missing.stderr


def test_usage_errors(home: Path) -> None:
    for args in (["https://example.org/a"],  # no --every/--cron
                 ["https://example.org/a", "--every", "1h", "--cron", "0 3 * * *"],
                 ["--every", "1h"],  # nothing to schedule
                 ["https://example.org/a", "--report", "r", "--every", "1h"],
                 ["https://example.org/a", "--cron", "every day"],
                 ["https://example.org/a", "--every", "-5m"],
                 ["file:///etc/passwd", "--every", "1h"],
                 ["--feed", "unknown", "--every", "1h"],
                 ["https://example.org/a", "--every", "1h", "--action", "delete"]):
        proc = run(home, "schedule", "add", *args)
        no_traceback(proc)
        assert proc.returncode == 2, (args, proc.stderr.decode())


def _job(db_url: str, job_id: str) -> Any:
    """The job as APScheduler's SQLAlchemy job store holds it."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    engine = sa.create_engine(db_url)
    try:
        store = SQLAlchemyJobStore(engine=engine)
        store.start(None, "default")
        return store.lookup_job(job_id)
    finally:
        engine.dispose()


def test_edit_reschedules_in_the_job_store(home: Path, db_url: str) -> None:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    db = ("--db", db_url)
    added = lines(run(home, *db, "schedule", "add", "https://example.org/a", "--every", "6h", "--json"))[0]
    job_id = added["job_id"]

    started = datetime.now(UTC)
    cron = run(home, *db, "schedule", "edit", str(added["id"]), "--cron", "30 4 * * *", "--json")
    no_traceback(cron)
    assert cron.returncode == 0, cron.stderr.decode()
    edited = lines(cron)[0]
    assert (edited["id"], edited["job_id"], edited["cron"], edited["every"], edited["action"]) == (
        added["id"], job_id, "30 4 * * *", None, "capture")
    assert edited["next_run_at"].endswith("T04:30:00Z")
    job = _job(db_url, job_id)
    assert isinstance(job.trigger, CronTrigger) and job.next_run_time.hour == 4

    every = lines(run(home, *db, "schedule", "edit", str(added["id"]), "--every", "30m", "--action", "check",
                      "--json"))[0]
    assert (every["every"], every["cron"], every["action"]) == (1800, None, "check")
    next_run = datetime.fromisoformat(every["next_run_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=29) < next_run - started < timedelta(minutes=31)  # from now, not from 6h
    job = _job(db_url, job_id)
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(minutes=30)
    assert job.name.startswith("check urls")

    assert lines(run(home, *db, "schedule", "edit", str(added["id"]), "--adaptive", "--json"))[0]["adaptive"]
    paused = lines(run(home, *db, "schedule", "pause", str(added["id"]), "--json"))[0]
    assert paused["paused"]
    still = lines(run(home, *db, "schedule", "edit", str(added["id"]), "--every", "2h", "--json"))[0]
    assert still["paused"] and still["next_run_at"] is None and still["every"] == 7200  # stays paused
    assert _job(db_url, job_id).next_run_time is None
    resumed = lines(run(home, *db, "schedule", "resume", str(added["id"]), "--json"))[0]
    assert resumed["next_run_at"] and resumed["every"] == 7200
    assert isinstance(_job(db_url, job_id).trigger, IntervalTrigger)
    listed = lines(run(home, *db, "schedule", "list", "--json"))
    assert [(s["id"], s["every"], s["action"], s["adaptive"]) for s in listed] == [
        (added["id"], 7200, "check", True)]


def test_edit_errors(home: Path, feed_server: str) -> None:
    added = lines(run(home, "schedule", "add", "https://example.org/a", "--every", "6h", "--json"))[0]
    missing = run(home, "schedule", "edit", "99", "--every", "1h")
    no_traceback(missing)
    assert missing.returncode == 1 and b"no schedule 99" in missing.stderr
    for args in ([], ["--every", "1h", "--cron", "0 3 * * *"], ["--cron", "every day"],
                 ["--every", "soon"], ["--action", "delete"]):
        proc = run(home, "schedule", "edit", str(added["id"]), *args)
        no_traceback(proc)
        assert proc.returncode == 2, (args, proc.stderr.decode())
    control(feed_server, "editfeed", grow=1)
    assert run(home, "feed", "add", f"{feed_server}/feed/editfeed.xml", "--name", "editfeed").returncode == 0
    feed = lines(run(home, "schedule", "add", "--feed", "editfeed", "--every", "15m", "--json"))[0]
    check = run(home, "schedule", "edit", str(feed["id"]), "--action", "check")
    assert check.returncode == 2 and b"feed" in check.stderr
    unchanged = lines(run(home, "schedule", "list", "--json"))
    assert [(s["id"], s["every"], s["action"]) for s in unchanged] == [(added["id"], 21600, "capture"),
                                                                        (feed["id"], 900, "capture")]
