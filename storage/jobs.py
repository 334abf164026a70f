"""The work ledger of the capture workers: ``jobs`` and ``job_items`` (migration 0018).

Each enqueue is a job; each of its URLs is a job item::

    queued --claim(worker, lease)--> claimed --capture row committed--> done | failed
       ^                                |   (renew: the lease extended while a live worker holds it)
       +------ reap: lease expired -----+   (attempt + 1; the old attempt may still answer)

A worker claims an item when it pops its message from the queue, and acks it in the
transaction that commits the capture row (``mark_answered``, called by
``storage.archive.Archive.commit_captures``): the row and the ack are one commit, so an item is never
done without its row, nor a row left without its ack. A live worker renews the leases of the attempts
it holds (``renew``): a lease expires only when its worker died or hung, or let the request go (to the
shared queue) and no other worker took it up. The reaper puts items whose lease expired back
in the queue with the next attempt number: a claim names the attempt, so a stale copy of the request
is dropped, and the first attempt to answer wins (every attempt that was fetched is a capture row all
the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from storage.checks import insert_checks
from storage.models import Job, JobItem
from storage.records import CheckRecord
from storage.timefmt import iso_z

__all__ = [
    "ANSWERED",
    "CLAIMED",
    "DONE",
    "FAILED",
    "FETCHING",
    "JUDGED",
    "PROBING",
    "QUEUED",
    "SETTLED",
    "JobItemRecord",
    "JobSummary",
    "add_stage_items",
    "check_jobs_to_judge",
    "claim",
    "claim_many",
    "create_job",
    "finished_jobs",
    "items_of",
    "job_spec",
    "list_jobs",
    "mark_answered",
    "reap",
    "record_verdicts",
    "renew",
    "staged_jobs",
]

QUEUED, CLAIMED, DONE, FAILED = "queued", "claimed", "done", "failed"
ANSWERED = (DONE, FAILED)
_OPEN = (QUEUED, CLAIMED)
# the stages of a check job (migration 0027): its URLs are fetched, then (when a verdict needs them) one
# probe per host, then its verdicts are stored (record_verdicts): early, per URL, for a verdict that
# depends on no probe, and the rest in the one transaction that moves the job to judged
FETCHING, PROBING, JUDGED = "fetching", "probing", "judged"
SETTLED = "settled"  # a feed job's: each article's entry linked to its capture (and its matches)
_FINAL = (None, JUDGED, SETTLED)


@dataclass(frozen=True, kw_only=True)
class JobItemRecord:
    """One URL of a job and where it stands."""

    id: int
    job_id: int
    url: str
    context: dict[str, Any]
    status: str
    attempt: int
    worker: str | None
    queued_at: datetime
    lease_until: datetime | None
    finished_at: datetime | None
    capture_id: int | None
    outcome: str | None
    verdicts: list[dict[str, Any]] | None = None  # a check job's verdict lines for this URL

    def message(self) -> dict[str, Any]:
        """What goes on the queue for this attempt: the URL and its context, naming the item."""
        return {"url": self.url, "context": {**self.context, "job": self.job_id, "job_item": self.id,
                                             "attempt": self.attempt}}

    def to_json(self) -> dict[str, Any]:
        """The item as JSON-ready values (times ISO-8601 UTC)."""
        out = asdict(self)
        for key in ("queued_at", "lease_until", "finished_at"):
            out[key] = iso_z(out[key]) if out[key] is not None else None
        return out


@dataclass(frozen=True, kw_only=True)
class JobSummary:
    """A job and how many of its items are in each state."""

    id: int
    kind: str
    created_at: datetime
    source: str | None
    counts: dict[str, int]
    stage: str | None = None  # a check job's: fetching, probing, judged


    @property
    def total(self) -> int:
        """How many URLs the job has."""
        return sum(self.counts.values())

    @property
    def finished(self) -> bool:
        """True when every item is done or failed (and a check job's verdicts are stored)."""
        return (all(self.counts.get(state, 0) == 0 for state in _OPEN)
                and self.stage in _FINAL)

    def to_json(self) -> dict[str, Any]:
        """The job as JSON-ready values: ``queued``, ``in_flight``, ``done``, ``failed``, ``total``."""
        return {"id": self.id, "kind": self.kind, "created_at": iso_z(self.created_at),
                "source": self.source, "queued": self.counts.get(QUEUED, 0),
                "in_flight": self.counts.get(CLAIMED, 0), "done": self.counts.get(DONE, 0),
                "failed": self.counts.get(FAILED, 0), "total": self.total, "finished": self.finished,
                "stage": self.stage}


def _record(row: JobItem) -> JobItemRecord:
    return JobItemRecord(id=row.id, job_id=row.job_id, url=row.url, context=dict(row.context or {}),
                         status=row.status, attempt=row.attempt, worker=row.worker,
                         queued_at=row.queued_at, lease_until=row.lease_until,
                         finished_at=row.finished_at, capture_id=row.capture_id, outcome=row.outcome,
                         verdicts=list(row.verdicts) if row.verdicts is not None else None)


def create_job(sessions: sessionmaker[Session], kind: str,
               targets: Sequence[tuple[str, dict[str, Any] | None]], *, now: datetime,
               source: str | None = None, spec: dict[str, Any] | None = None,
               stage: str | None = None) -> tuple[int, list[JobItemRecord]]:
    """Record a job of ``targets`` (URL, context) in one transaction; its id and its queued items
    (``spec`` and ``stage``: a check job's, see ``record_verdicts``)."""
    with sessions() as session, session.begin():
        job = Job(kind=kind, created_at=now, source=source, spec=spec, stage=stage)
        session.add(job)
        session.flush()
        return job.id, _insert_items(session, job.id, targets, now)


def _insert_items(session: Session, job_id: int, targets: Sequence[tuple[str, dict[str, Any] | None]],
                  now: datetime) -> list[JobItemRecord]:
    rows = [{"job_id": job_id, "url": url, "context": context or {}, "status": QUEUED,
             "attempt": 1, "queued_at": now} for url, context in targets]
    ids = list(session.scalars(insert(JobItem).returning(JobItem.id, sort_by_parameter_order=True),
                               rows)) if rows else []
    return [JobItemRecord(id=new_id, job_id=job_id, url=url, context=context or {},
                          status=QUEUED, attempt=1, worker=None, queued_at=now, lease_until=None,
                          finished_at=None, capture_id=None, outcome=None)
            for (url, context), new_id in zip(targets, ids, strict=True)]


def job_spec(sessions: sessionmaker[Session], job_id: int) -> tuple[str, dict[str, Any], str | None] | None:
    """A job's ``(kind, spec, stage)``; None when there is no such job."""
    with sessions() as session:
        job = session.get(Job, job_id)
        return None if job is None else (job.kind, dict(job.spec or {}), job.stage)


def add_stage_items(sessions: sessionmaker[Session], job_id: int, *, stage: str, new_stage: str,
                    targets: Sequence[tuple[str, dict[str, Any] | None]], now: datetime
                    ) -> list[JobItemRecord] | None:
    """Move a job from ``stage`` to ``new_stage`` and add items of ``targets`` in one transaction (a
    check job's probes); None when the job was no longer at ``stage`` (another process moved it)."""
    with sessions() as session, session.begin():
        moved = session.execute(update(Job).where(Job.id == job_id, Job.stage == stage)
                                .values(stage=new_stage))
        if not getattr(moved, "rowcount", 0):
            return None
        return _insert_items(session, job_id, targets, now)


def record_verdicts(sessions: sessionmaker[Session], job_id: int, *, stage: str,
                    checks: dict[int, Sequence[CheckRecord]], verdicts: dict[int, list[dict[str, Any]]],
                    final: bool = True) -> list[CheckRecord] | None:
    """In one transaction: store each item's check rows (``checks``: item id -> rows, with their ledger
    entries) and verdict lines (``verdicts``: item id -> lines), skipping an item whose verdicts are
    already stored (another process judged it early meanwhile); with ``final`` the job also moves from
    ``stage`` to ``judged``, else it stays at ``stage`` (early verdicts). The job's row is updated first,
    so two processes storing a job's verdicts take turns. None, with nothing stored, when the job was no
    longer at ``stage``: each item's verdicts are stored once."""
    with sessions() as session, session.begin():
        moved = session.execute(update(Job).where(Job.id == job_id, Job.stage == stage)
                                .values(stage=JUDGED if final else stage))
        if not getattr(moved, "rowcount", 0):
            return None
        done = set(session.scalars(select(JobItem.id).where(
            JobItem.id.in_(list(verdicts)), JobItem.verdicts.is_not(None)))) if verdicts else set()
        fresh = [item for item in verdicts if item not in done]
        stored = insert_checks(session, [check for item in fresh for check in checks.get(item, ())])
        table = JobItem.__table__
        assert isinstance(table, Table)
        if fresh:
            session.execute(update(table).where(table.c.id == bindparam("item"))
                            .values(verdicts=bindparam("lines")),
                            [{"item": item, "lines": verdicts[item]} for item in fresh])
        return stored


def check_jobs_to_judge(sessions: sessionmaker[Session]) -> list[int]:
    """The check jobs waiting for their verdicts whose every item is answered, and those still fetching
    with an answered item without verdicts (to be judged early when it can be), oldest first."""
    open_items = select(JobItem.id).where(JobItem.job_id == Job.id, JobItem.status.in_(_OPEN))
    unjudged = select(JobItem.id).where(JobItem.job_id == Job.id, JobItem.status.in_(ANSWERED),
                                        JobItem.verdicts.is_(None))
    with sessions() as session:
        return list(session.scalars(select(Job.id).where(
            Job.kind == "check", Job.stage.in_((FETCHING, PROBING)),
            ~open_items.exists() | ((Job.stage == FETCHING) & unjudged.exists()))
            .order_by(Job.id)))


def staged_jobs(sessions: sessionmaker[Session], kind: str, stage: str) -> list[int]:
    """The jobs of ``kind`` at ``stage``, oldest first."""
    with sessions() as session:
        return list(session.scalars(select(Job.id).where(Job.kind == kind, Job.stage == stage)
                                    .order_by(Job.id)))


def finished_jobs(sessions: sessionmaker[Session], job_ids: Sequence[int]) -> set[int]:
    """Those of ``job_ids`` that are finished (``JobSummary.finished``), or no longer exist."""
    if not job_ids:
        return set()
    open_items = select(JobItem.id).where(JobItem.job_id == Job.id, JobItem.status.in_(_OPEN))
    with sessions() as session:
        unfinished = set(session.scalars(select(Job.id).where(
            Job.id.in_(list(job_ids)),
            open_items.exists() | (Job.stage.is_not(None) & Job.stage.not_in([JUDGED, SETTLED])))))
    return set(job_ids) - unfinished


def claim(sessions: sessionmaker[Session], item_id: int, attempt: int, worker: str, *,
          now: datetime, lease: float) -> bool:
    """Claim attempt ``attempt`` of an item for ``worker`` until ``now + lease``; False when that attempt
    is no longer wanted (the item was answered, or re-enqueued as a later attempt). Claiming an item
    one holds again (a redirect's next request) renews the lease."""
    with sessions() as session, session.begin():
        result = session.execute(
            update(JobItem)
            .where(JobItem.id == item_id, JobItem.attempt == attempt, JobItem.status.in_(_OPEN))
            .values(status=CLAIMED, worker=worker, lease_until=now + timedelta(seconds=lease)))
        return bool(getattr(result, "rowcount", 0))


def claim_many(sessions: sessionmaker[Session], attempts: Sequence[tuple[int, int]], worker: str, *,
               now: datetime, lease: float) -> set[tuple[int, int]]:
    """``claim`` for many ``(item id, attempt)`` pairs in one statement; the pairs now held."""
    if not attempts:
        return set()
    with sessions() as session, session.begin():
        rows = session.execute(
            update(JobItem)
            .where(tuple_(JobItem.id, JobItem.attempt).in_(list(attempts)), JobItem.status.in_(_OPEN))
            .values(status=CLAIMED, worker=worker, lease_until=now + timedelta(seconds=lease))
            .returning(JobItem.id, JobItem.attempt)
            .execution_options(synchronize_session=False))
        return {(row.id, row.attempt) for row in rows}


def renew(sessions: sessionmaker[Session], attempts: Sequence[tuple[int, int]], *, now: datetime,
          lease: float) -> set[tuple[int, int]]:
    """Extend to ``now + lease`` the claims of the ``(item id, attempt)`` pairs a live worker holds (in
    its scheduler, downloader or pipeline), whoever claimed them; the pairs renewed. A pair answered or
    re-enqueued meanwhile is left as it is."""
    if not attempts:
        return set()
    with sessions() as session, session.begin():
        rows = session.execute(
            update(JobItem)
            .where(tuple_(JobItem.id, JobItem.attempt).in_(list(attempts)), JobItem.status == CLAIMED)
            .values(lease_until=now + timedelta(seconds=lease))
            .returning(JobItem.id, JobItem.attempt)
            .execution_options(synchronize_session=False))
        return {(row.id, row.attempt) for row in rows}


def mark_answered(session: Session, marks: Sequence[tuple[int, int, str]], *, now: datetime) -> None:
    """In the caller's transaction: items ``(item id, capture id, outcome)`` are answered by those
    capture rows (``done`` when captured, else ``failed``), unless an earlier attempt answered them."""
    if not marks:
        return
    table = JobItem.__table__
    assert isinstance(table, Table)
    session.execute(
        update(table)
        # no IN (...): an executemany cannot expand it
        .where(table.c.id == bindparam("item"),
               (table.c.status == QUEUED) | (table.c.status == CLAIMED))
        .values(status=bindparam("new_status"), capture_id=bindparam("capture"),
                outcome=bindparam("result"), finished_at=now),
        [{"item": item, "capture": capture, "result": outcome,
          "new_status": DONE if outcome == "captured" else FAILED} for item, capture, outcome in marks])


def reap(sessions: sessionmaker[Session], *, now: datetime,
         queued_before: datetime | None = None) -> list[JobItemRecord]:
    """Re-enqueue (attempt + 1) every claimed item whose lease expired, and, with ``queued_before``,
    every item still queued since before then (the caller knows the queue is empty: its message
    was lost between the queue and a claim). Returns the items to put back on the queue.

    Each item is moved with a compare-and-set on its attempt, so two reapers never both re-enqueue it.
    """
    expired = (JobItem.status == CLAIMED) & (JobItem.lease_until < now)
    wanted = expired
    if queued_before is not None:
        wanted = wanted | ((JobItem.status == QUEUED) & (JobItem.queued_at < queued_before))
    with sessions() as session:
        stale = [(row.id, row.attempt) for row in session.execute(
            select(JobItem.id, JobItem.attempt).where(wanted).order_by(JobItem.id))]
    moved: list[int] = []
    with sessions() as session, session.begin():
        for item_id, attempt in stale:
            # the condition again: an item claimed or answered meanwhile stays as it is
            result = session.execute(
                update(JobItem)
                .where(JobItem.id == item_id, JobItem.attempt == attempt, wanted)
                .values(status=QUEUED, attempt=attempt + 1, worker=None, lease_until=None,
                        queued_at=now))
            if getattr(result, "rowcount", 0):
                moved.append(item_id)
    return items_of(sessions, ids=moved) if moved else []


def items_of(sessions: sessionmaker[Session], *, job_id: int | None = None,
             ids: Sequence[int] | None = None, answered: bool = False,
             judged: bool | None = None) -> list[JobItemRecord]:
    """Job items by job or by ids (``answered``: only those done or failed; ``judged``: only those with
    (True) or without (False) verdicts stored)."""
    query = select(JobItem).order_by(JobItem.id)
    if judged is not None:
        query = query.where(JobItem.verdicts.is_not(None) if judged else JobItem.verdicts.is_(None))
    if job_id is not None:
        query = query.where(JobItem.job_id == job_id)
    if ids is not None:
        query = query.where(JobItem.id.in_(list(ids)))
    if answered:
        query = query.where(JobItem.status.in_(ANSWERED))
    with sessions() as session:
        return [_record(row) for row in session.scalars(query)]


def list_jobs(sessions: sessionmaker[Session], job_id: int | None = None) -> list[JobSummary]:
    """Every job (or the one ``job_id``), newest first, with its counts per state."""
    with sessions() as session:
        query = select(Job).order_by(Job.id.desc())
        if job_id is not None:
            query = query.where(Job.id == job_id)
        jobs = list(session.scalars(query))
        counts: dict[int, dict[str, int]] = {job.id: {} for job in jobs}
        count_query = select(JobItem.job_id, JobItem.status, func.count()).group_by(
            JobItem.job_id, JobItem.status)
        if job_id is not None:
            count_query = count_query.where(JobItem.job_id == job_id)
        for owner, status, number in session.execute(count_query):
            if owner in counts:
                counts[owner][status] = number
        return [JobSummary(id=job.id, kind=job.kind, created_at=job.created_at, source=job.source,
                           counts=counts[job.id], stage=job.stage) for job in jobs]
