"""A schedule stored before the job functions moved (``collector.jobs`` -> ``collector.monitor.jobs``)
still loads and runs once the database is migrated (both databases)."""

from __future__ import annotations

import pickle
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.util import ref_to_obj

from collector.monitor.jobs import JobRuntime, set_runtime
from collector.monitor.scheduler import JOB_FUNC, add_schedule, list_schedules, make_scheduler
from storage.database import connect, head_revision, make_engine
from storage.monitoring import runs_of
from tests.collector.monitor.conftest import wait_for
from tests.conftest import make_config

JOBS = sa.table("apscheduler_jobs", sa.column("id", sa.Unicode), sa.column("job_state", sa.LargeBinary))
OLD_FUNC = "collector.jobs:run_schedule"


def _func_of(engine: sa.Engine, job_id: str) -> str | None:
    with engine.connect() as conn:
        blob = conn.execute(sa.select(JOBS.c.job_state).where(JOBS.c.id == job_id)).scalar_one_or_none()
    return None if blob is None else str(pickle.loads(blob)["func"])


def _as_before_the_move(engine: sa.Engine, job_id: str) -> None:
    """Rewrite the stored job as collector wrote it before the move; the database back at 0006."""
    with engine.begin() as conn:
        state = pickle.loads(conn.execute(sa.select(JOBS.c.job_state)
                                          .where(JOBS.c.id == job_id)).scalar_one())
        assert state["func"] == JOB_FUNC
        state["func"] = OLD_FUNC
        conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id)
                     .values(job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0006'"))


def test_a_schedule_from_before_the_move_loads_and_runs(server: str, home: Path, db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # collector.jobs is gone, as in an installed collector (an editable install of an older tree in
    # the same environment could still provide it): APScheduler would delete a job naming it
    monkeypatch.setitem(sys.modules, "collector.jobs", None)
    with pytest.raises(LookupError):
        ref_to_obj(OLD_FUNC)
    config = make_config(home, database_url=db_url)
    info = add_schedule(config, urls=[server + "/page/moved-job"], every=3600)
    job_id = info.schedule.job_id
    engine = make_engine(db_url)
    try:
        _as_before_the_move(engine, job_id)
        assert _func_of(engine, job_id) == OLD_FUNC

        sessions = connect(db_url)  # opening the archive migrates it
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() \
                == head_revision()
        assert _func_of(engine, job_id) == JOB_FUNC
        [listed] = list_schedules(config)  # APScheduler restores the job: it has its next run
        assert listed.schedule.job_id == job_id and listed.next_run_at == info.next_run_at

        # run it through APScheduler, as the daemon does
        set_runtime(JobRuntime(config=config, sessions=sessions, holder="me",
                               lease=None, clock=lambda: datetime.now(UTC)))
        scheduler = make_scheduler(config)
        scheduler.start(paused=True)
        try:
            scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
            scheduler.resume()
            [run] = wait_for(lambda: [r for r in runs_of(sessions, job_id) if r.finished_at], 120)
        finally:
            scheduler.shutdown(wait=True)
            set_runtime(None)
            sessions.kw["bind"].dispose()
        assert run.status == "ok", run.error
        assert run.summary == {"urls": 1, "captured": 1}
        assert _func_of(engine, job_id) == JOB_FUNC  # still stored, for its next slot
    finally:
        engine.dispose()
