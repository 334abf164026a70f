"""Following a job: its counts, its items, and its results as they arrive (``collector jobs --wait``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from collector.errors import InputError
from storage import jobs, queries
from storage.jobs import JobSummary

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["job_summary", "wait_for_job"]


def job_summary(sessions: sessionmaker[Session], job_id: int) -> JobSummary:
    """The job ``job_id``'s counts; InputError naming it when there is none."""
    found = jobs.list_jobs(sessions, job_id)
    if not found:
        raise InputError(f"no job {job_id} (see `collector jobs`)")
    return found[0]


def wait_for_job(sessions: sessionmaker[Session], job_id: int, *,
                 on_result: Callable[[dict[str, Any]], None], poll: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> JobSummary:
    """Pass the result line of each answered URL of the job to ``on_result`` as it is answered (the
    capture row's line, as a local capture prints it, with ``job`` and ``job_item``); return the job's
    counts once every URL is answered."""
    shown: set[int] = set()
    while True:
        summary = job_summary(sessions, job_id)  # before the items: a finished job has them all
        fresh = [item for item in jobs.items_of(sessions, job_id=job_id, answered=True)
                 if item.id not in shown]
        records = {r.id: r for r in queries.captures_by_ids(
            sessions, [i.capture_id for i in fresh if i.capture_id is not None])}
        for item in fresh:
            shown.add(item.id)
            record = records.get(item.capture_id) if item.capture_id is not None else None
            line = record.to_json() if record is not None else {
                "url": item.url, "outcome": item.outcome or item.status, "id": item.capture_id}
            on_result({**line, "job": job_id, "job_item": item.id, "attempt": item.attempt})
        if summary.finished:
            return summary
        sleep(poll)
