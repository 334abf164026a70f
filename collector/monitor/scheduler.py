"""Schedules: recurring captures, checks and feed polls, kept by APScheduler 3 in the archive's database.

A schedule is a row in ``schedules`` (what to do) plus a job in APScheduler's SQLAlchemy job store
(``apscheduler_jobs``, same database: when it runs next). The CLI edits both with a *paused*
scheduler, which never runs anything; only the ``collector run`` daemon that holds the lease runs jobs.

Job defaults: ``coalesce`` (after downtime a job runs once, not once per missed slot), one instance of
a job at a time, and a misfire grace (default: none, so a missed run is never dropped). Times are UTC;
cron expressions too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from collector.capture.run import check_url
from collector.config import Config
from collector.errors import InputError, NotFoundError
from collector.profiles.store import profile_path
from storage import monitoring as db
from storage import reports
from storage.database import connect, make_engine
from storage.monitoring import ScheduleRecord
from storage.timefmt import iso_z

__all__ = ["ACTIONS", "CollectorScheduler", "ScheduleInfo", "SlotExecutor", "add_schedule", "current_slot",
           "edit_schedule", "list_schedules", "make_scheduler", "pause_schedule", "remove_schedule",
           "resume_schedule", "trigger_for"]

ACTIONS = ("capture", "check")
JOB_FUNC = "collector.monitor.jobs:run_schedule"
_slot = threading.local()


def current_slot() -> datetime | None:
    """The scheduled time of the job running in this thread (the latest missed one when coalesced)."""
    return getattr(_slot, "value", None)


def _run_in_slot(job: Any, alias: str, run_times: list[datetime], logger_name: str) -> Any:
    _slot.value = run_times[-1]
    try:
        return run_job(job, alias, run_times, logger_name)
    finally:
        _slot.value = None


class SlotExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool executor that tells each job its scheduled time (``current_slot``)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def callback(future: Any) -> None:
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, getattr(exc, "__traceback__", None))
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(_run_in_slot, job, job._jobstore_alias, run_times, self._logger.name)
        future.add_done_callback(callback)


class CollectorScheduler(BackgroundScheduler):
    """APScheduler's background scheduler that processes jobs only while running.

    A paused APScheduler 3 scheduler still processes due jobs once while it shuts down (its state goes
    from paused to stopped): it would submit them to a closed executor and advance their next run time,
    silently skipping a slot. The CLI edits the job store with a scheduler that is never resumed.
    """

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


def make_scheduler(config: Config,
                   cls: type[BackgroundScheduler] = CollectorScheduler) -> BackgroundScheduler:
    """A scheduler on the archive's database (not started)."""
    return cls(
        jobstores={"default": SQLAlchemyJobStore(engine=make_engine(config.db_url))},
        executors={"default": SlotExecutor(max_workers=config.monitor.workers)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": config.monitor.misfire_grace},
        timezone=UTC)


def trigger_for(every: float | None, cron: str | None) -> Any:
    """The APScheduler trigger of ``--every`` seconds or a crontab line (UTC)."""
    if cron:
        try:
            return CronTrigger.from_crontab(cron, timezone=UTC)
        except ValueError as exc:
            raise InputError(f"--cron {cron!r} is not a crontab expression "
                             f"(minute hour day month weekday): {exc}") from exc
    if not every or every <= 0:
        raise InputError("give --every DURATION or --cron EXPRESSION")
    return IntervalTrigger(seconds=every, timezone=UTC)


@dataclass(frozen=True, kw_only=True)
class ScheduleInfo:
    """A schedule with its next run time (None when paused)."""

    schedule: ScheduleRecord
    next_run_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (``schedule list --json``)."""
        s = self.schedule
        return {"id": s.id, "job_id": s.job_id, "kind": s.kind, "targets": list(s.targets),
                "action": s.action, "every": s.every_seconds, "cron": s.cron, "adaptive": s.adaptive,
                "paused": s.paused, "created_at": iso_z(s.created_at), "next_run_at": iso_z(self.next_run_at),
                "profile": s.profile}


class _Editor:
    """A scheduler that is never resumed and a session factory on the archive's database (CLI)."""

    def __init__(self, config: Config) -> None:
        self.sessions = connect(config.db_url)
        self.scheduler = make_scheduler(config)
        self.scheduler.start(paused=True)

    def __enter__(self) -> _Editor:
        return self

    def __exit__(self, *_: Any) -> None:
        self.scheduler.shutdown(wait=False)
        self.sessions.kw["bind"].dispose()

    def info(self, record: ScheduleRecord) -> ScheduleInfo:
        job = self.scheduler.get_job(record.job_id)
        return ScheduleInfo(schedule=record, next_run_at=job.next_run_time if job else None)

    def record(self, schedule_id: int) -> ScheduleRecord:
        found = db.get_schedule(self.sessions, schedule_id)
        if found is None:
            raise NotFoundError(f"no schedule {schedule_id} (see `collector schedule list`)")
        return found


def _check_target(config: Config, sessions: Any, urls: Sequence[str], report: str | None,
                  feed: str | None, action: str) -> tuple[str, list[str]]:
    given = [bool(urls), report is not None, feed is not None]
    if sum(given) != 1:
        raise InputError("give URLs, --report NAME or --feed NAME (exactly one of them)")
    if action not in ACTIONS:
        raise InputError(f"--action must be one of {', '.join(ACTIONS)}")
    if urls:
        return "urls", [check_url(u) for u in urls]
    if feed is not None:
        if action != "capture":
            raise InputError("a feed schedule polls the feed: --action check does not apply")
        if db.get_feed(sessions, feed) is None:
            raise InputError(f"no feed named {feed!r} (add it with `collector feed add`)")
        return "feed", [feed]

    try:
        reports.versions_of(sessions, report or "")
    except reports.NoReportError as exc:
        raise InputError(f"no report named {report!r} (add it with `collector report add`)") from exc
    return "report", [report or ""]


def add_schedule(config: Config, *, urls: Sequence[str] = (), report: str | None = None,
                 feed: str | None = None, every: float | None = None, cron: str | None = None,
                 action: str = "capture", adaptive: bool = False, profile: str | None = None,
                 now: datetime | None = None) -> ScheduleInfo:
    """Add a schedule. ``adaptive`` re-visits each URL on its own rhythm (``collector.monitor.jobs``); its
    ``every``, when not given, is how often it looks for due URLs (default 1 h). ``profile``: the
    login profile its captures and checks go through (it must exist now; a run that finds it gone
    fails with that reason)."""
    if every and cron:
        raise InputError("give --every or --cron, not both")
    _check_profile(config, profile, "feed" if feed is not None else "urls")
    if adaptive and not cron and not every:
        every = config.monitor.adaptive_tick
    trigger = trigger_for(every, cron)
    with _Editor(config) as editor:
        kind, targets = _check_target(config, editor.sessions, urls, report, feed, action)
        if adaptive and kind == "feed":
            raise InputError("--adaptive applies to URLs and reports; feeds adapt by themselves")
        record = db.add_schedule(editor.sessions, kind=kind, targets=targets, action=action,
                                 every_seconds=None if cron else every, cron=cron, adaptive=adaptive,
                                 now=now or datetime.now(UTC), profile=profile)
        editor.scheduler.add_job(JOB_FUNC, trigger=trigger, args=[record.id], id=record.job_id,
                                 name=_job_name(action, kind, targets), replace_existing=True)
        return editor.info(record)


def list_schedules(config: Config) -> list[ScheduleInfo]:
    """Every schedule with its next run time."""
    with _Editor(config) as editor:
        return [editor.info(r) for r in db.list_schedules(editor.sessions)]


def pause_schedule(config: Config, schedule_id: int) -> ScheduleInfo:
    """Pause a schedule (its job keeps its trigger; no run until resumed)."""
    with _Editor(config) as editor:
        record = editor.record(schedule_id)
        with contextlib.suppress(JobLookupError):
            editor.scheduler.pause_job(record.job_id)
        db.set_schedule_paused(editor.sessions, schedule_id, True)
        return editor.info(editor.record(schedule_id))


def resume_schedule(config: Config, schedule_id: int) -> ScheduleInfo:
    """Resume a paused schedule from its next slot (missed slots while paused are not run)."""
    with _Editor(config) as editor:
        record = editor.record(schedule_id)
        db.set_schedule_paused(editor.sessions, schedule_id, False)
        try:
            editor.scheduler.resume_job(record.job_id)
        except JobLookupError:  # the job was lost: re-create it from the row
            editor.scheduler.add_job(JOB_FUNC, trigger=trigger_for(record.every_seconds, record.cron),
                                     args=[record.id], id=record.job_id, replace_existing=True)
        return editor.info(editor.record(schedule_id))


def _check_profile(config: Config, profile: str | None, kind: str) -> None:
    """Refuse a login profile that does not exist (NotFoundError naming it) or a profile on a feed."""
    if profile is None:
        return
    profile_path(config, profile)
    if kind == "feed":
        raise InputError("--profile applies to URLs and reports: a feed is polled over HTTP")


def _job_name(action: str, kind: str, targets: Sequence[str]) -> str:
    return f"{action} {kind} {', '.join(targets)[:100]}"


def edit_schedule(config: Config, schedule_id: int, *, every: float | None = None,
                  cron: str | None = None, action: str | None = None,
                  adaptive: bool | None = None, profile: str | None = None,
                  clear_profile: bool = False) -> ScheduleInfo:
    """Change a schedule's trigger (``every`` seconds or a ``cron`` line), action, adaptiveness or login
    profile (``profile`` NAME, which must exist as for :func:`add_schedule`; ``clear_profile`` drops it).

    A new trigger takes effect at once: the next run is its first slot from now (APScheduler's
    ``reschedule_job``), and a paused schedule stays paused. Its past runs are kept.
    """
    if every and cron:
        raise InputError("give --every or --cron, not both")
    if profile is not None and clear_profile:
        raise InputError("give --profile NAME or --no-profile, not both")
    if (every is None and cron is None and action is None and adaptive is None and profile is None
            and not clear_profile):
        raise InputError("nothing to change: give --every, --cron, --action, --adaptive/--no-adaptive "
                         "or --profile NAME/--no-profile")
    if action is not None and action not in ACTIONS:
        raise InputError(f"--action must be one of {', '.join(ACTIONS)}")
    trigger = trigger_for(every, cron) if every or cron else None
    with _Editor(config) as editor:
        record = editor.record(schedule_id)
        if record.kind == "feed" and action == "check":
            raise InputError("a feed schedule polls the feed: --action check does not apply")
        if record.kind == "feed" and adaptive:
            raise InputError("--adaptive applies to URLs and reports; feeds adapt by themselves")
        _check_profile(config, profile, record.kind)
        changes: dict[str, Any] = {"action": action, "adaptive": adaptive}
        if profile is not None or clear_profile:
            changes["profile"] = profile
        if trigger is not None:
            changes.update(every_seconds=None if cron else every, cron=cron)
        updated = db.update_schedule(editor.sessions, schedule_id, **changes)
        if updated is None:
            raise NotFoundError(f"no schedule {schedule_id} (see `collector schedule list`)")
        name = _job_name(updated.action, updated.kind, updated.targets)
        try:
            if trigger is not None and not updated.paused:
                editor.scheduler.reschedule_job(updated.job_id, trigger=trigger)
            elif trigger is not None:  # keep it paused: the new trigger's first slot comes on resume
                editor.scheduler.modify_job(updated.job_id, trigger=trigger)
            editor.scheduler.modify_job(updated.job_id, name=name)
        except JobLookupError:  # the job was lost: re-create it from the row
            editor.scheduler.add_job(
                JOB_FUNC, trigger=trigger or trigger_for(updated.every_seconds, updated.cron),
                args=[updated.id], id=updated.job_id, name=name, replace_existing=True,
                **({"next_run_time": None} if updated.paused else {}))
        return editor.info(updated)


def remove_schedule(config: Config, schedule_id: int) -> ScheduleRecord:
    """Remove a schedule and its job (its past runs stay in ``schedule_runs``)."""
    with _Editor(config) as editor:
        record = editor.record(schedule_id)
        with contextlib.suppress(JobLookupError):
            editor.scheduler.remove_job(record.job_id)
        db.remove_schedule(editor.sessions, schedule_id)
        return record
