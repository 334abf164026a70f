"""Migration 0007: stored APScheduler jobs follow collector's job functions to their new module
(both databases). The end-to-end case, a schedule that still loads and runs, is in
``tests/collector/monitor/test_moved_jobs.py``."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.interval import IntervalTrigger

from storage.database import _alembic_config, head_revision, make_engine, migrate

JOBS = sa.table("apscheduler_jobs", sa.column("id", sa.Unicode), sa.column("job_state", sa.LargeBinary))


def _state(func: str, job_id: str) -> dict[str, object]:
    """A job state as APScheduler 3 pickles it (``Job.__getstate__``)."""
    return {"version": 1, "id": job_id, "func": func, "trigger": IntervalTrigger(hours=1, timezone=UTC),
            "executor": "default", "args": (7,), "kwargs": {}, "name": job_id,
            "misfire_grace_time": None, "coalesce": True, "max_instances": 1,
            "next_run_time": datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=1)}


def _refs(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(JOBS.c.id, JOBS.c.job_state)).all()
    out: dict[str, object] = {}
    for job_id, blob in rows:
        try:
            out[job_id] = pickle.loads(blob)["func"]
        except pickle.UnpicklingError:
            out[job_id] = blob
    return out


def _back_to(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def _downgrade(engine: sa.Engine, revision: str) -> None:
    """Run the migrations' downgrades to ``revision``."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _version(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one())


def test_without_apscheduler_table_the_migration_has_nothing_to_do(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        _back_to(engine, "0006")
        migrate(engine)
        assert _version(engine) == head_revision()
        assert not sa.inspect(engine).has_table("apscheduler_jobs")
    finally:
        engine.dispose()


def test_old_job_references_are_rewritten_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        SQLAlchemyJobStore(engine=engine).start(None, "default")  # creates its table, as a scheduler does
        old = {"schedule-1": "collector.jobs:run_schedule",
               "collector-feeds": "collector.jobs:poll_due_feeds",
               "other": "collector.jobsworth:run", "current": "collector.monitor.jobs:run_schedule"}
        with engine.begin() as conn:
            for job_id, func in old.items():
                conn.execute(sa.insert(JOBS).values(
                    id=job_id, job_state=pickle.dumps(_state(func, job_id), pickle.HIGHEST_PROTOCOL)))
            conn.execute(sa.insert(JOBS).values(id="broken", job_state=b"not a pickle"))
        _back_to(engine, "0006")
        migrate(engine)
        assert _version(engine) == head_revision()
        assert _refs(engine) == {
            "schedule-1": "collector.monitor.jobs:run_schedule",
            "collector-feeds": "collector.monitor.jobs:poll_due_feeds",
            "other": "collector.jobsworth:run",  # another module whose name merely starts alike
            "current": "collector.monitor.jobs:run_schedule",
            "broken": b"not a pickle"}  # unreadable: left as it is, the migration goes on
        with engine.connect() as conn:
            blob = conn.execute(sa.select(JOBS.c.job_state).where(JOBS.c.id == "schedule-1")).scalar_one()
        state = pickle.loads(blob)  # everything but the reference kept as it was
        assert state == {**_state("collector.monitor.jobs:run_schedule", "schedule-1"),
                         "trigger": state["trigger"]}
        assert str(state["trigger"]) == str(IntervalTrigger(hours=1, timezone=UTC))

        cfg = _alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006")
        refs = _refs(engine)
        assert refs["schedule-1"] == "collector.jobs:run_schedule"
        assert refs["collector-feeds"] == "collector.jobs:poll_due_feeds"
        assert refs["current"] == "collector.jobs:run_schedule"  # all of them go back: the old module
        assert refs["other"] == "collector.jobsworth:run"
    finally:
        engine.dispose()


def _record_id_column(engine: sa.Engine) -> tuple[bool, int | None]:
    """(is warc_record_id indexed, its declared length)."""
    inspector = sa.inspect(engine)
    indexed = any(ix["column_names"] == ["warc_record_id"] for ix in inspector.get_indexes("captures"))
    [column] = [c for c in inspector.get_columns("captures") if c["name"] == "warc_record_id"]
    return indexed, getattr(column["type"], "length", None)


def test_0011_indexes_warc_record_id_and_widens_it(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        _downgrade(engine, "0010")
        assert _record_id_column(engine) == (False, 64)
        migrate(engine)
        assert _version(engine) == head_revision()
        indexed, length = _record_id_column(engine)
        assert indexed
        if engine.dialect.name == "postgresql":  # SQLite's declared length binds nothing
            assert length == 255
        long_id = f"<urn:example:{'x' * 200}>"
        captures = sa.table("captures", sa.column("id", sa.Integer), sa.column("warc_record_id"))
        with engine.begin() as conn:  # held whole on both databases
            conn.execute(sa.text(
                "INSERT INTO captures (url, url_key, captured_at, outcome, redirect_chain, records,"
                " ignore_robots, allow_private, warc_record_id) VALUES ('http://a/', 'a)/',"
                " '2026-12-06 00:00:00', 'captured', '[]', '[]', false, false, :rid)"), {"rid": long_id})
            assert conn.execute(sa.select(captures.c.warc_record_id)).scalar_one() == long_id
    finally:
        engine.dispose()


def _schedule_columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("schedules")}


def test_0029_adds_the_schedule_profile_only_when_missing(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        _downgrade(engine, "0027")
        assert "profile" not in _schedule_columns(engine)
        with engine.begin() as conn:  # a schedule of before: its profile reads NULL
            conn.execute(sa.text(
                "INSERT INTO schedules (kind, targets, action, adaptive, paused, created_at) VALUES"
                " ('urls', '[]', 'capture', false, false, '2026-12-06 00:00:00')"))
        migrate(engine)
        assert _version(engine) == head_revision() and "profile" in _schedule_columns(engine)
        _back_to(engine, "0027")  # stamped back by hand: the column is there already
        migrate(engine)
        assert _version(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT profile FROM schedules")).all() == [(None,)]
    finally:
        engine.dispose()
