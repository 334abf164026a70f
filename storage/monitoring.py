"""Typed queries over the daemon's tables: schedules and their runs, the lease, webhooks and deliveries.

Every function takes a session factory and returns frozen records, never ORM rows. Writes that can race
between two processes (claiming a delivery, starting a run, taking the lease, moving a webhook cursor)
are single conditional statements or unique constraints, so they are safe on SQLite and PostgreSQL
alike. The feed tables are in ``storage.feeds``; their names are re-exported here for older callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.feeds import (  # re-exported: the feed API lived here before storage.feeds
    DuplicateNameError,
    EntryRecord,
    FeedRecord,
    FeedUpdate,
    NewEntry,
    add_feed,
    add_matches,
    claim_feed,
    due_feeds,
    entries_of,
    get_feed,
    list_feeds,
    record_polls,
    remove_feed,
    set_entry_captures,
    store_entries,
    to_record,
)
from storage.models import Check, DaemonLease, FeedMatch, Schedule, ScheduleRun, Webhook, WebhookDelivery

__all__ = [
    "CheckEvent", "DeliveryRecord", "DuplicateNameError", "EntryRecord", "FeedRecord", "FeedUpdate",
    "LeaseRecord", "NewEntry", "RunRecord", "ScheduleRecord", "WebhookRecord", "abandon_runs",
    "acquire_lease", "add_feed", "add_matches", "add_schedule", "add_webhook", "checks_after",
    "claim_delivery", "claim_feed", "due_deliveries", "due_feeds", "enqueue_deliveries", "entries_of",
    "finish_delivery", "finish_run", "get_feed", "get_lease", "get_schedule", "list_deliveries",
    "list_feeds", "list_schedules", "list_webhooks", "matches_after", "record_polls", "release_lease",
    "remove_feed", "remove_schedule", "remove_webhook", "runs_of", "set_entry_captures",
    "set_schedule_paused", "start_run", "store_entries", "sync_config_webhooks", "update_schedule",
]

Sessions = sessionmaker[Session]


@dataclass(frozen=True, kw_only=True)
class ScheduleRecord:
    """A schedule; its trigger state (next run) is in APScheduler's job store."""

    id: int
    job_id: str
    kind: str
    targets: tuple[str, ...]
    action: str
    every_seconds: float | None
    cron: str | None
    adaptive: bool
    paused: bool
    created_at: datetime
    profile: str | None = None  # the login profile its captures and checks go through


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One run of a scheduled job."""

    id: int
    job_id: str
    schedule_id: int | None
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str
    holder: str
    summary: dict[str, Any]
    error: str | None


@dataclass(frozen=True, kw_only=True)
class WebhookRecord:
    """A webhook and how far it has seen the checks and feed matches."""

    id: int
    url: str
    events: tuple[str, ...]
    created_at: datetime
    last_check_id: int
    last_match_id: int
    from_config: bool = False  # added from the notify_urls setting (kept in step with it)


@dataclass(frozen=True, kw_only=True)
class DeliveryRecord:
    """One event for one webhook and its delivery state."""

    id: int
    webhook_id: int
    url: str
    event: str
    payload: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    http_status: int | None
    delivered_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class LeaseRecord:
    """Who holds a lease and until when."""

    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class CheckEvent:
    """A stored check with the status of the check before it (same URL, report and ref)."""

    id: int
    url: str
    status: str
    previous_status: str | None
    checked_at: datetime
    report: str | None
    ref: str | None
    capture_id: int | None
    similarity: float | None
    http_status: int | None
    final_url: str | None
    baseline_id: int | None = None
    raw_status: str | None = None  # the verdict before ignore rules, when they removed something



# -- schedules and runs ------------------------------------------------------------------------------
def add_schedule(sessions: Sessions, *, kind: str, targets: Sequence[str], action: str,
                 every_seconds: float | None, cron: str | None, adaptive: bool,
                 now: datetime, profile: str | None = None) -> ScheduleRecord:
    """Store a schedule; its job id is ``schedule-<id>``."""
    with sessions() as session, session.begin():
        row = Schedule(kind=kind, targets=list(targets), action=action, every_seconds=every_seconds,
                       cron=cron, adaptive=adaptive, paused=False, created_at=now, profile=profile)
        session.add(row)
        session.flush()
        row.job_id = f"schedule-{row.id}"
    return to_record(ScheduleRecord, row, targets=tuple(row.targets))


def get_schedule(sessions: Sessions, schedule_id: int) -> ScheduleRecord | None:
    """The schedule with this id, or None."""
    with sessions() as session:
        row = session.get(Schedule, schedule_id)
        return to_record(ScheduleRecord, row, targets=tuple(row.targets or ())) if row else None


def list_schedules(sessions: Sessions) -> list[ScheduleRecord]:
    """Every schedule, by id."""
    with sessions() as session:
        rows = session.execute(select(Schedule).order_by(Schedule.id)).scalars()
        return [to_record(ScheduleRecord, row, targets=tuple(row.targets or ())) for row in rows]


def set_schedule_paused(sessions: Sessions, schedule_id: int, paused: bool) -> bool:
    """Mark a schedule paused or active; False when there is no such schedule."""
    with sessions() as session, session.begin():
        result = session.execute(update(Schedule).where(Schedule.id == schedule_id).values(paused=paused))
        return bool(result.rowcount)  # type: ignore[attr-defined]


_UNSET: Any = object()


def update_schedule(sessions: Sessions, schedule_id: int, *, action: str | None = None,
                    every_seconds: float | None = _UNSET, cron: str | None = _UNSET,
                    adaptive: bool | None = None, profile: str | None = _UNSET) -> ScheduleRecord | None:
    """Change what a schedule does or when (arguments not given are kept; ``profile=None`` clears the
    login profile); None when it is gone."""
    values: dict[str, Any] = {}
    if action is not None:
        values["action"] = action
    if every_seconds is not _UNSET:
        values["every_seconds"] = every_seconds
    if cron is not _UNSET:
        values["cron"] = cron
    if adaptive is not None:
        values["adaptive"] = adaptive
    if profile is not _UNSET:
        values["profile"] = profile
    with sessions() as session, session.begin():
        if values:
            session.execute(update(Schedule).where(Schedule.id == schedule_id).values(**values))
        row = session.get(Schedule, schedule_id)
        return to_record(ScheduleRecord, row, targets=tuple(row.targets or ())) if row else None


def remove_schedule(sessions: Sessions, schedule_id: int) -> bool:
    """Delete a schedule (its runs are kept as history)."""
    with sessions() as session, session.begin():
        result = session.execute(delete(Schedule).where(Schedule.id == schedule_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def start_run(sessions: Sessions, *, job_id: str, schedule_id: int | None, scheduled_for: datetime,
              holder: str, lease: str | None, now: datetime) -> tuple[RunRecord | None, str]:
    """Record that a slot starts running; (None, reason) when it must not run.

    Reasons: ``ran`` (this slot already has a run: nothing runs twice) and ``not-leader`` (``holder``
    does not hold the lease ``lease`` any more).
    """
    with sessions() as session, session.begin():
        if lease is not None:
            held = session.execute(select(DaemonLease.name).where(
                DaemonLease.name == lease, DaemonLease.holder == holder,
                DaemonLease.expires_at > now)).scalar_one_or_none()
            if held is None:
                return None, "not-leader"
        row = ScheduleRun(job_id=job_id, schedule_id=schedule_id, scheduled_for=scheduled_for,
                          started_at=now, status="running", holder=holder, summary={})
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None, "ran"
    return to_record(RunRecord, row), "started"


def finish_run(sessions: Sessions, run_id: int, *, status: str, now: datetime,
               summary: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Record how a run ended."""
    with sessions() as session, session.begin():
        session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id).values(
            status=status, finished_at=now, summary=summary or {}, error=error))


def abandon_runs(sessions: Sessions, holder: str, now: datetime) -> int:
    """Mark runs left ``running`` by other holders (a daemon that died) as ``interrupted``."""
    with sessions() as session, session.begin():
        result = session.execute(update(ScheduleRun).where(
            ScheduleRun.status == "running", ScheduleRun.holder != holder).values(
            status="interrupted", finished_at=now, error="the daemon running it stopped"))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def interrupt_own_runs(sessions: Sessions, holder: str, now: datetime, error: str) -> int:
    """Mark this holder's runs still ``running`` as ``interrupted`` (a daemon forced to exit)."""
    with sessions() as session, session.begin():
        result = session.execute(update(ScheduleRun).where(
            ScheduleRun.status == "running", ScheduleRun.holder == holder).values(
            status="interrupted", finished_at=now, error=error))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def runs_of(sessions: Sessions, job_id: str | None = None, *, limit: int | None = None) -> list[RunRecord]:
    """Runs (of one job, or all), oldest first."""
    stmt = select(ScheduleRun).order_by(ScheduleRun.id.desc())
    if job_id is not None:
        stmt = stmt.where(ScheduleRun.job_id == job_id)
    if limit:
        stmt = stmt.limit(limit)
    with sessions() as session:
        return [to_record(RunRecord, row) for row in session.execute(stmt).scalars()][::-1]


# -- the daemon lease ----------------------------------------------------------------------------------
def acquire_lease(sessions: Sessions, name: str, holder: str, *, now: datetime, ttl: float) -> bool:
    """Take or renew the lease: True when ``holder`` holds it until ``now + ttl``.

    It is granted when it is free, already ours, or expired (its holder died or stalled).
    """
    expires = now + timedelta(seconds=ttl)
    with sessions() as session, session.begin():
        result = session.execute(update(DaemonLease).where(
            DaemonLease.name == name, DaemonLease.holder == holder).values(
            renewed_at=now, expires_at=expires))
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        result = session.execute(update(DaemonLease).where(
            DaemonLease.name == name, DaemonLease.expires_at <= now).values(
            holder=holder, acquired_at=now, renewed_at=now, expires_at=expires))
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        if session.get(DaemonLease, name) is not None:
            return False
        try:
            with session.begin_nested():
                session.add(DaemonLease(name=name, holder=holder, acquired_at=now, renewed_at=now,
                                        expires_at=expires))
        except IntegrityError:
            return False
    return True


def release_lease(sessions: Sessions, name: str, holder: str) -> None:
    """Give the lease up (only when ``holder`` holds it)."""
    with sessions() as session, session.begin():
        session.execute(delete(DaemonLease).where(DaemonLease.name == name,
                                                  DaemonLease.holder == holder))


def get_lease(sessions: Sessions, name: str) -> LeaseRecord | None:
    """The lease row, or None when nobody holds it."""
    with sessions() as session:
        row = session.get(DaemonLease, name)
        return to_record(LeaseRecord, row) if row else None


# -- webhooks and deliveries -----------------------------------------------------------------------------
def add_webhook(sessions: Sessions, url: str, events: Sequence[str], now: datetime, *,
                from_config: bool = False) -> WebhookRecord:
    """Add a webhook; it is told about checks and matches stored from now on."""
    with sessions() as session, session.begin():
        row = Webhook(url=url, events=list(events), created_at=now, from_config=from_config,
                      last_check_id=session.execute(select(func.max(Check.id))).scalar() or 0,
                      last_match_id=session.execute(select(func.max(FeedMatch.id))).scalar() or 0)
        session.add(row)
    return _webhook(row)


def _webhook(row: Webhook) -> WebhookRecord:
    return to_record(WebhookRecord, row, events=tuple(row.events or ()), from_config=bool(row.from_config))


def list_webhooks(sessions: Sessions) -> list[WebhookRecord]:
    """Every webhook, by id."""
    with sessions() as session:
        rows = session.execute(select(Webhook).order_by(Webhook.id)).scalars()
        return [_webhook(row) for row in rows]


def sync_config_webhooks(sessions: Sessions, urls: Sequence[str], events: Sequence[str], now: datetime
                         ) -> tuple[list[WebhookRecord], list[WebhookRecord]]:
    """Keep the webhooks added from a setting in step with its ``urls``: add those missing (told about
    what is stored from now on), delete those no longer listed. Returns (added, removed)."""
    wanted = list(dict.fromkeys(urls))
    with sessions() as session, session.begin():
        rows = session.execute(select(Webhook).where(Webhook.from_config.is_(True))).scalars().all()
        gone = [row for row in rows if row.url not in wanted]
        for row in gone:
            session.delete(row)
        removed = [_webhook(row) for row in gone]
    have = {row.url for row in rows}
    added = [add_webhook(sessions, url, events, now, from_config=True) for url in wanted if url not in have]
    return added, removed


def remove_webhook(sessions: Sessions, webhook_id: int) -> bool:
    """Delete a webhook (its deliveries are kept)."""
    with sessions() as session, session.begin():
        result = session.execute(delete(Webhook).where(Webhook.id == webhook_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def checks_after(sessions: Sessions, after_id: int, limit: int = 500) -> list[CheckEvent]:
    """Checks stored after ``after_id``, each with the previous status of the same URL and citation."""
    with sessions() as session:
        rows = session.execute(select(Check).where(Check.id > after_id).order_by(Check.id)
                               .limit(limit)).scalars().all()
        out = []
        for row in rows:
            previous = session.execute(
                select(Check.status).where(Check.url_key == row.url_key, Check.id < row.id,
                                           Check.report.is_not_distinct_from(row.report),
                                           Check.ref.is_not_distinct_from(row.ref))
                .order_by(Check.id.desc()).limit(1)).scalar_one_or_none()
            out.append(to_record(CheckEvent, row, previous_status=previous))
        return out


def matches_after(sessions: Sessions, after_id: int, limit: int = 500) -> list[tuple[int, EntryRecord]]:
    """Entries that got keyword matches after match id ``after_id``: (last match id, entry)."""
    with sessions() as session:
        rows = session.execute(select(FeedMatch.id, FeedMatch.entry_id).where(FeedMatch.id > after_id)
                               .order_by(FeedMatch.id).limit(limit)).all()
    last: dict[int, int] = {}
    for match_id, entry_id in rows:
        last[entry_id] = match_id
    if not last:
        return []
    found = entries_of(sessions, ids=list(last), limit=len(last))
    return sorted(((last[e.id], e) for e in found), key=lambda pair: pair[0])


def enqueue_deliveries(sessions: Sessions, webhook: WebhookRecord, *, check_id: int, match_id: int,
                       events: Sequence[tuple[str, dict[str, Any]]], now: datetime) -> bool:
    """Queue events for a webhook and move its cursors, if nobody moved them first (False then)."""
    with sessions() as session, session.begin():
        result = session.execute(update(Webhook).where(
            Webhook.id == webhook.id, Webhook.last_check_id == webhook.last_check_id,
            Webhook.last_match_id == webhook.last_match_id).values(
            last_check_id=check_id, last_match_id=match_id))
        if not result.rowcount:  # type: ignore[attr-defined]
            session.rollback()
            return False
        for event, payload in events:
            session.add(WebhookDelivery(webhook_id=webhook.id, url=webhook.url, event=event,
                                        payload=payload, created_at=now, status="pending", attempts=0,
                                        next_attempt_at=now))
    return True


def due_deliveries(sessions: Sessions, now: datetime, limit: int = 100) -> list[DeliveryRecord]:
    """Pending deliveries whose next attempt is due, oldest first."""
    with sessions() as session:
        rows = session.execute(select(WebhookDelivery).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.id).limit(limit)).scalars()
        return [to_record(DeliveryRecord, row) for row in rows]


def claim_delivery(sessions: Sessions, delivery: DeliveryRecord, until: datetime) -> bool:
    """Take a due delivery for one attempt (pushes its next attempt to ``until``)."""
    with sessions() as session, session.begin():
        result = session.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == delivery.id, WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at == delivery.next_attempt_at).values(next_attempt_at=until))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_delivery(sessions: Sessions, delivery_id: int, *, status: str, now: datetime,
                    http_status: int | None, error: str | None, next_attempt_at: datetime | None) -> None:
    """Record one attempt: ``delivered``, ``pending`` (retry at ``next_attempt_at``) or ``failed``."""
    with sessions() as session, session.begin():
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(
            status=status, attempts=WebhookDelivery.attempts + 1, http_status=http_status,
            last_error=error, next_attempt_at=next_attempt_at,
            delivered_at=now if status == "delivered" else None))


def list_deliveries(sessions: Sessions, *, status: str | None = None, limit: int = 100
                    ) -> list[DeliveryRecord]:
    """The newest deliveries (optionally of one status), newest first."""
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    with sessions() as session:
        return [to_record(DeliveryRecord, row) for row in session.execute(stmt).scalars()]
