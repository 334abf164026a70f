"""The daemon's ledger checkpoint job (``ledger_checkpoint_minutes``): a signed checkpoint when the
ledger grew since the last one, nothing when it did not; driven directly (both databases) and by a
real ``collector run`` with a short interval."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from collector.evidence.keys import create_key, verify_signature
from collector.monitor.jobs import LEDGER_JOB, JobRuntime, ledger_checkpoint, set_runtime
from storage.archive import Archive
from storage.database import connect
from storage.ledger import Checkpoint, checkpoints
from storage.models import LedgerEntry
from storage.monitoring import acquire_lease, runs_of
from tests.conftest import make_config
from tests.storage.helpers import HTML, T0, html_capture

LEASE = "scheduler"


def _points(archive: Archive) -> list[Checkpoint]:
    with archive.sessions() as session:
        return checkpoints(session)


def _size(archive: Archive) -> int:
    with archive.sessions() as session:
        return len(session.scalars(select(LedgerEntry.seq)).all())


@pytest.fixture
def archive(db_url: str, home: Path) -> Iterator[Archive]:
    opened = Archive.open(db_url, home / "warcs")
    yield opened
    opened.close()


def test_the_job_checkpoints_only_a_grown_ledger(db_url: str, home: Path, archive: Archive) -> None:
    key = create_key(home / "signing-key.pem")
    config = make_config(home, database_url=db_url)
    ticks = itertools.count()

    def clock() -> datetime:  # each job run its own slot
        return datetime(2027, 3, 1, tzinfo=UTC) + timedelta(hours=next(ticks))

    sessions = connect(db_url)
    assert acquire_lease(sessions, LEASE, "h", now=clock(), ttl=10**6)
    set_runtime(JobRuntime(config=config, sessions=sessions, holder="h", lease=LEASE, clock=clock))
    try:
        ledger_checkpoint()  # an empty ledger: nothing to checkpoint
        assert _points(archive) == []
        archive.commit_captures([html_capture(f"https://example.com/{i}", T0, body=HTML + bytes([i]))
                                 for i in range(3)])
        ledger_checkpoint()
        [first] = _points(archive)
        assert first.tree_size == _size(archive) == 3
        assert first.signature is not None and first.key_fingerprint == key.fingerprint
        assert verify_signature(key.public_key_hex, first.statement.encode(),
                                bytes.fromhex(first.signature))
        ledger_checkpoint()  # nothing new: no checkpoint, no run
        assert _points(archive) == [first]
        archive.commit_captures([html_capture("https://example.com/late", T0, body=HTML + b"late")])
        ledger_checkpoint()
        assert [p.tree_size for p in _points(archive)] == [3, 4]
        runs = runs_of(sessions, LEDGER_JOB)
        assert [(r.status, r.summary["tree_size"], r.summary["signed"]) for r in runs] == [
            ("ok", 3, True), ("ok", 4, True)]
    finally:
        set_runtime(None)
        sessions.kw["bind"].dispose()


def test_the_job_needs_the_lease(db_url: str, home: Path, archive: Archive) -> None:
    config = make_config(home, database_url=db_url)
    now = datetime(2027, 3, 1, tzinfo=UTC)
    sessions = connect(db_url)
    assert acquire_lease(sessions, LEASE, "other", now=now, ttl=10**6)
    set_runtime(JobRuntime(config=config, sessions=sessions, holder="h", lease=LEASE,
                           clock=lambda: now))
    try:
        archive.commit_captures([html_capture("https://example.com/", T0)])
        ledger_checkpoint()  # a daemon in standby checkpoints nothing
        assert _points(archive) == []
    finally:
        set_runtime(None)
        sessions.kw["bind"].dispose()


@pytest.mark.slow  # a daemon process
def test_collector_run_checkpoints_on_its_interval(home: Path, tmp_path: Path) -> None:
    from tests.collector.monitor.conftest import DaemonProcess, wait_for

    key = create_key(home / "signing-key.pem")
    (home / "collector.toml").write_text("ledger_checkpoint_minutes = 0.01\n")  # every 0.6 s
    archive = Archive.open(f"sqlite:///{(home / 'collector.db').resolve()}", home / "warcs")
    try:
        archive.commit_captures([html_capture("https://example.com/a", T0)])  # no run: no checkpoint
        assert _points(archive) == []
        daemon = DaemonProcess(home, None, log=tmp_path / "daemon.log")
        try:
            wait_for(lambda: len(_points(archive)) == 1, 60)
            archive.commit_captures([html_capture("https://example.com/b", T0, body=HTML + b"b")])
            wait_for(lambda: len(_points(archive)) == 2, 60)
            # more intervals with nothing new: the job looks and takes no checkpoint
            wait_for(lambda: sum(e.get("event") == "job.skipped" and e.get("job") == LEDGER_JOB
                                 for e in daemon.events()) >= 3, 60)
            assert daemon.stop() == 0
        finally:
            daemon.kill()
        points = _points(archive)
    finally:
        archive.close()
    assert [p.tree_size for p in points] == [1, 2]
    assert all(p.key_fingerprint == key.fingerprint for p in points)
    done = [e for e in daemon.events() if e.get("event") == "job.done" and e.get("job") == LEDGER_JOB]
    assert [e["tree_size"] for e in done] == [1, 2]
