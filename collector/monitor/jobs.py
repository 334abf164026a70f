"""What scheduled jobs do when the daemon runs them: capture, check, poll feeds, adaptive re-visits.

APScheduler stores jobs as references to the functions here (``collector.monitor.jobs:run_schedule``) with a
schedule id as their only argument; the running daemon sets the ``JobRuntime`` they use (config,
database, lease holder). Every run is first recorded in ``schedule_runs`` with its scheduled slot: the
slot is unique, and the lease is checked in the same transaction, so no slot ever runs twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collector.capture.run import capture_urls
from collector.check.run import CheckTarget, run_checks
from collector.config import Config
from collector.errors import CollectorError, ConfigError
from collector.evidence.ledger import signing_key, stamp_if_configured
from collector.monitor.feeds import PollReport, poll_feeds
from collector.monitor.scheduler import current_slot
from collector.profiles.store import profile_path
from collector.reports.versions import effective_citations, report_urls
from collector.workers.checkjobs import enqueue_checks
from collector.workers.queue import QueueKeys, connect_redis, enqueue
from collector.workers.reaper import reap_once
from storage import ledger
from storage import monitoring as db
from storage.archive import Archive
from storage.checks import checks_of
from storage.monitoring import ScheduleRecord
from storage.queries import snapshots

__all__ = ["FEEDS_JOB", "LEDGER_JOB", "REAP_JOB", "JobRuntime", "UrlHistory", "adaptive_due",
           "adaptive_interval", "ledger_checkpoint", "poll_due_feeds", "reap_queue", "run_schedule",
           "set_runtime", "url_history"]

log = logging.getLogger("collector.monitor.jobs")
log.addHandler(logging.NullHandler())  # shown by the daemon's handler (setup_logging)
FEEDS_JOB = "collector-feeds"
REAP_JOB = "collector-reap"  # the queue's reaper, with dispatch = "queue"
LEDGER_JOB = "collector-ledger-checkpoint"
FAILING = ("gone", "soft-404", "unreachable", "server-error", "blocked")
DAY = timedelta(days=1)
# (age of the source since its first capture or its last change/failure, interval between visits)
ADAPTIVE_STEPS = ((timedelta(days=7), DAY), (timedelta(days=35), timedelta(days=7)))
ADAPTIVE_LAST = timedelta(days=30)


@dataclass(frozen=True)
class JobRuntime:
    """What jobs need from the daemon running them."""

    config: Config
    sessions: Any
    holder: str
    lease: str | None
    clock: Callable[[], datetime]


_RUNTIME: list[JobRuntime] = []


def set_runtime(runtime: JobRuntime | None) -> None:
    """Set (or clear) the runtime of the jobs run in this process."""
    _RUNTIME.clear()
    if runtime is not None:
        _RUNTIME.append(runtime)


def _runtime() -> JobRuntime:
    if not _RUNTIME:
        raise CollectorError("scheduled jobs run only inside `collector run`")
    return _RUNTIME[0]


# -- adaptive re-visits (pure) ----------------------------------------------------------------------
@dataclass(frozen=True)
class UrlHistory:
    """When a source was first and last visited, and when it last changed or failed."""

    first_seen: datetime | None
    last_seen: datetime | None
    last_event: datetime | None


def url_history(captures: Sequence[Any], checks: Sequence[Any] = ()) -> UrlHistory:
    """The history of a URL from its captures (oldest first) and checks."""
    if not captures and not checks:
        return UrlHistory(None, None, None)
    times = [c.captured_at for c in captures] + [c.checked_at for c in checks]
    events: list[datetime] = []
    previous = None
    for capture in captures:
        if capture.outcome != "captured" or (capture.http_status or 0) >= 400:
            events.append(capture.captured_at)
            continue
        fingerprint = capture.text_sha256 or capture.sha256
        if previous is not None and fingerprint != previous:
            events.append(capture.captured_at)
        previous = fingerprint
    events += [c.checked_at for c in checks if c.status != "unchanged"]
    first = min(c.captured_at for c in captures) if captures else min(times)
    return UrlHistory(first, max(times), max(events) if events else None)


def adaptive_interval(history: UrlHistory, now: datetime) -> timedelta:
    """Daily for the first week after the first capture (or the last change or failure), weekly
    until five weeks, then monthly."""
    age = now - max((t for t in (history.first_seen, history.last_event) if t is not None), default=now)
    for limit, interval in ADAPTIVE_STEPS:
        if age < limit:
            return interval
    return ADAPTIVE_LAST


def adaptive_due(history: UrlHistory, now: datetime, slack: timedelta = timedelta(0)) -> bool:
    """True when the source has never been visited or its interval has elapsed (less ``slack``)."""
    if history.last_seen is None:
        return True
    return now - history.last_seen >= adaptive_interval(history, now) - slack


# -- jobs ---------------------------------------------------------------------------------------------
def _targets(rt: JobRuntime, schedule: ScheduleRecord) -> tuple[list[str], dict[str, dict[str, Any]],
                                                                 list[Any]]:
    """URLs, capture contexts and check targets of a URL or report schedule."""
    context = {"schedule": schedule.id}
    if schedule.kind == "urls":
        urls = list(schedule.targets)
        return urls, {u: dict(context) for u in urls}, [CheckTarget(url=u) for u in urls]

    name = schedule.targets[0]
    urls, contexts = report_urls(rt.config, name)
    archive = Archive.open(rt.config.db_url, rt.config.warc_dir, worker=rt.config.worker_label)
    try:
        checks = [CheckTarget(url=u, quotes=c.quotes, report=name, ref=c.citation.ref,
                              access_date=c.citation.date_iso)
                  for c in effective_citations(archive, name) for u in c.urls]
    finally:
        archive.close()
    return urls, {u: {**c, **context} for u, c in contexts.items()}, checks


def _due(rt: JobRuntime, urls: Sequence[str], schedule: ScheduleRecord, now: datetime) -> set[str]:
    slack = timedelta(seconds=(schedule.every_seconds or rt.config.monitor.adaptive_tick) / 2)
    due = set()
    for url in urls:
        history = url_history(snapshots(rt.sessions, url), checks_of(rt.sessions, url))
        if adaptive_due(history, now, slack):
            due.add(url)
    return due


def _execute(rt: JobRuntime, schedule: ScheduleRecord, now: datetime) -> dict[str, Any]:
    if schedule.kind == "feed":
        report = poll_feeds(rt.config, list(schedule.targets), clock=rt.clock,
                            queue=rt.config.dispatch == "queue")
        return _poll_summary(report)
    urls, contexts, checks = _targets(rt, schedule)
    if schedule.adaptive:
        due = _due(rt, urls, schedule, now)
        urls = [u for u in urls if u in due]
        checks = [c for c in checks if c.url in due]
    config = _with_profile(rt.config, schedule)
    if schedule.action == "check":
        if not checks:
            return {"urls": 0}
        if config.dispatch == "queue":  # the workers fetch them and store the verdicts
            done = enqueue_checks(config, checks, source=f"schedule {schedule.id}", sessions=rt.sessions)
            return {"urls": len(checks), **done.to_json()}
        rows = run_checks(config, checks)
        return {"urls": len(checks), "statuses": dict(Counter(r["status"] for r in rows))}

    if not urls:
        return {"urls": 0}
    if config.dispatch == "queue":  # the capture workers fetch them (docs/scale-out.md)
        done = enqueue(config, urls, contexts=contexts, source=f"schedule {schedule.id}",
                       sessions=rt.sessions)
        return {"urls": len(urls), **done.to_json()}
    results = capture_urls(config, urls, contexts=contexts)
    return {"urls": len(urls), **Counter(r["outcome"] for r in results)}


def _with_profile(config: Config, schedule: ScheduleRecord) -> Config:
    """``config`` with the schedule's login profile (``browser_profile``); the profile must exist
    now (a :class:`NotFoundError` naming it: the run is recorded as failed with that reason), and
    it stays in this home, so it cannot go with ``dispatch = "queue"``."""
    if not schedule.profile:
        return config
    profile_path(config, schedule.profile)
    if config.dispatch == "queue":
        raise ConfigError(f"schedule {schedule.id}: profile {schedule.profile!r} cannot go with "
                          "dispatch = \"queue\" (profiles stay in this home, the workers have none)")
    return config.replace(browser_profile=schedule.profile)


def _poll_summary(report: PollReport) -> dict[str, Any]:
    """A poll run's summary (with ``dispatch = "queue"``: the job of its articles, when any)."""
    summary = {"feeds": len(report.feeds), "new_entries": len(report.entries),
               "failed": sum(1 for f in report.feeds if f.outcome == "failed"),
               "refused": sum(1 for f in report.feeds if f.outcome == "refused")}
    if report.job is not None:
        summary["job"] = report.job
    return summary


def _run(job_id: str, schedule_id: int | None,
         body: Callable[[JobRuntime, datetime], dict[str, Any]]) -> None:
    rt = _runtime()
    slot = current_slot() or rt.clock()
    run, why = db.start_run(rt.sessions, job_id=job_id, schedule_id=schedule_id, scheduled_for=slot,
                            holder=rt.holder, lease=rt.lease, now=rt.clock())
    if run is None:
        log.warning("job.skipped", extra={"fields": {"job": job_id, "slot": slot, "reason": why}})
        return
    log.info("job.start", extra={"fields": {"job": job_id, "slot": slot, "run": run.id}})
    try:
        summary = body(rt, slot)
    except Exception as exc:
        db.finish_run(rt.sessions, run.id, status="failed", now=rt.clock(),
                      error=f"{type(exc).__name__}: {exc}")
        log.exception("job.failed", extra={"fields": {"job": job_id, "run": run.id}})
        return
    db.finish_run(rt.sessions, run.id, status="ok", now=rt.clock(), summary=summary)
    log.info("job.done", extra={"fields": {"job": job_id, "run": run.id, **summary}})


def run_schedule(schedule_id: int) -> None:
    """The job of one schedule: capture or check its URLs (or its report's), or poll its feed."""
    rt = _runtime()
    schedule = db.get_schedule(rt.sessions, schedule_id)
    if schedule is None or schedule.paused:
        log.info("job.skipped", extra={"fields": {"schedule": schedule_id,
                                                  "reason": "removed" if schedule is None else "paused"}})
        return
    _run(schedule.job_id, schedule.id, lambda r, slot: _execute(r, schedule, slot))


def reap_queue() -> None:
    """The daemon's job with ``dispatch = "queue"``: queue again the URLs whose worker's lease expired
    (every worker runs the same reaper; one more keeps the queue going while no worker runs)."""
    rt = _runtime()
    server = connect_redis(rt.config)
    try:
        reap_once(rt.sessions, server, QueueKeys(rt.config.redis_prefix), lease=rt.config.job_lease)
    finally:
        server.close()


def poll_due_feeds() -> None:
    """The daemon's own job: poll the feeds whose (adaptive) interval has elapsed."""
    rt = _runtime()
    if not db.due_feeds(rt.sessions, rt.clock()):
        return

    def body(r: JobRuntime, _slot: datetime) -> dict[str, Any]:
        report = poll_feeds(r.config, due_only=True, clock=r.clock, queue=r.config.dispatch == "queue")
        return _poll_summary(report)

    _run(FEEDS_JOB, None, body)


def ledger_checkpoint() -> None:
    """The daemon's own job (every ``ledger_checkpoint_minutes``): a checkpoint of the ledger, signed
    with the archive key, when it grew since the last one; nothing (not even a run row) when not."""
    rt = _runtime()
    with rt.sessions() as session:
        if not ledger.entries_since_checkpoint(session):
            log.info("job.skipped", extra={"fields": {"job": LEDGER_JOB, "reason": "unchanged"}})
            return

    def body(r: JobRuntime, _slot: datetime) -> dict[str, Any]:
        point = ledger.record_checkpoint(r.sessions, signer=signing_key(r.config), clock=r.clock)
        if point is None:  # another process checkpointed meanwhile
            return {"checkpoint": None}
        point = stamp_if_configured(r, r.config, point) or point  # RFC 3161, when tsa_url is set
        return {"checkpoint": point.id, "tree_size": point.tree_size, "root": point.root_hash,
                "signed": point.signature is not None}

    _run(LEDGER_JOB, None, body)
