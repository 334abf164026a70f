"""Typed queries over the monitoring tables: feeds and entries, schedules and runs, webhooks, the lease.

Every function takes a session factory and returns frozen records, never ORM rows. Writes that can race
between two processes (claiming a feed or a delivery, starting a run, taking the lease, moving a
webhook cursor) are single conditional statements or unique constraints, so they are safe on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError
from storage.models import (
    Check,
    DaemonLease,
    Feed,
    FeedEntry,
    FeedMatch,
    FeedPoll,
    Schedule,
    ScheduleRun,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "CheckEvent", "DeliveryRecord", "DuplicateNameError", "EntryRecord", "FeedRecord", "FeedUpdate",
    "LeaseRecord", "NewEntry", "RunRecord", "ScheduleRecord", "WebhookRecord", "abandon_runs",
    "acquire_lease", "add_feed", "add_matches", "add_schedule", "add_webhook", "checks_after",
    "claim_delivery", "claim_feed", "due_deliveries", "due_feeds", "enqueue_deliveries", "entries_of",
    "finish_delivery", "finish_run", "get_feed", "get_lease", "get_schedule", "list_deliveries",
    "list_feeds", "list_schedules", "list_webhooks", "matches_after", "record_polls", "release_lease",
    "remove_feed", "remove_schedule", "remove_webhook", "runs_of", "set_entry_captures",
    "set_schedule_paused", "start_run", "store_entries",
]

Sessions = sessionmaker[Session]
R = TypeVar("R")


class DuplicateNameError(StorageError, ValueError):
    """A feed with this name already exists."""


@dataclass(frozen=True, kw_only=True)
class FeedRecord:
    """A watched feed with its validators, polling state and counts."""

    id: int
    name: str
    url: str
    keywords: tuple[str, ...]
    capture_all: bool
    match_text: bool
    base_interval: float
    interval: float
    next_poll_at: datetime | None
    added_at: datetime
    title: str | None
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_new_entry_at: datetime | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    warning: str | None
    warning_at: datetime | None
    entries: int = 0
    matches: int = 0


@dataclass(frozen=True, kw_only=True)
class FeedUpdate:
    """What one poll changes on its feed (validators only when the document was fetched)."""

    polled_at: datetime
    outcome: str  # fetched | not-modified | failed
    http_status: int | None
    capture_id: int | None
    interval: float
    next_poll_at: datetime
    new_entries: int = 0
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    warning: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewEntry:
    """An entry read from a feed document, with its three deduplication keys."""

    guid: str | None
    guid_key: str | None
    link: str | None
    link_key: str | None
    title: str | None
    title_key: str | None
    summary: str | None
    published: datetime | None


@dataclass(frozen=True, kw_only=True)
class EntryRecord:
    """A stored feed entry, its article capture and the keywords that matched it."""

    id: int
    feed_id: int
    feed: str
    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    published: datetime | None
    first_seen_at: datetime
    feed_capture_id: int | None
    capture_id: int | None
    capture_outcome: str | None
    matched: tuple[str, ...] = ()


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


def _to(cls: type[R], row: Any, **extra: Any) -> R:
    values = {f.name: getattr(row, f.name) for f in fields(cls)  # type: ignore[arg-type]
              if f.name not in extra and hasattr(row, f.name)}
    return cls(**values, **extra)


def _feed(row: Feed, entries: int = 0, matches: int = 0) -> FeedRecord:
    return _to(FeedRecord, row, keywords=tuple(row.keywords or ()), entries=entries, matches=matches)


# -- feeds -----------------------------------------------------------------------------------------
def add_feed(sessions: Sessions, *, name: str, url: str, keywords: Sequence[str], capture_all: bool,
             match_text: bool, interval: float, now: datetime) -> FeedRecord:
    """Add a feed, due for polling now; raises DuplicateNameError when the name is taken."""
    row = Feed(name=name, url=url, keywords=list(keywords), capture_all=capture_all,
               match_text=match_text, base_interval=interval, interval=interval, next_poll_at=now,
               added_at=now, consecutive_failures=0)
    try:
        with sessions() as session, session.begin():
            session.add(row)
    except IntegrityError as exc:
        raise DuplicateNameError(f"a feed named {name!r} already exists") from exc
    return _feed(row)


def get_feed(sessions: Sessions, name: str) -> FeedRecord | None:
    """The feed with this name, or None."""
    with sessions() as session:
        row = session.execute(select(Feed).where(Feed.name == name)).scalar_one_or_none()
        return _feed(row) if row else None


def list_feeds(sessions: Sessions) -> list[FeedRecord]:
    """Every feed, by name, with its entry and match counts."""
    entries = select(FeedEntry.feed_id, func.count().label("n")).group_by(FeedEntry.feed_id).subquery()
    matches = (select(FeedMatch.feed_id, func.count(func.distinct(FeedMatch.entry_id)).label("n"))
               .group_by(FeedMatch.feed_id).subquery())
    stmt = (select(Feed, entries.c.n, matches.c.n).outerjoin(entries, entries.c.feed_id == Feed.id)
            .outerjoin(matches, matches.c.feed_id == Feed.id).order_by(Feed.name))
    with sessions() as session:
        return [_feed(row, e or 0, m or 0) for row, e, m in session.execute(stmt)]


def remove_feed(sessions: Sessions, name: str) -> bool:
    """Delete a feed with its entries, matches and poll log (captures and WARCs stay)."""
    with sessions() as session, session.begin():
        feed_id = session.execute(select(Feed.id).where(Feed.name == name)).scalar_one_or_none()
        if feed_id is None:
            return False
        for model in (FeedMatch, FeedEntry, FeedPoll):
            session.execute(delete(model).where(model.feed_id == feed_id))
        session.execute(delete(Feed).where(Feed.id == feed_id))
    return True


def due_feeds(sessions: Sessions, now: datetime) -> list[FeedRecord]:
    """Feeds whose next poll time has come."""
    with sessions() as session:
        rows = session.execute(select(Feed).where(Feed.next_poll_at <= now)
                               .order_by(Feed.next_poll_at)).scalars()
        return [_feed(row) for row in rows]


def claim_feed(sessions: Sessions, feed_id: int, now: datetime, until: datetime) -> bool:
    """Take a due feed for polling (pushes its next poll to ``until``); False if someone else did."""
    with sessions() as session, session.begin():
        result = session.execute(update(Feed).where(Feed.id == feed_id, Feed.next_poll_at <= now)
                                 .values(next_poll_at=until))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def record_polls(sessions: Sessions, polls: Sequence[tuple[int, FeedUpdate]]) -> None:
    """Store polls' outcomes on their feeds and in the poll log, in one transaction."""
    with sessions() as session, session.begin():
        for feed_id, poll in polls:
            session.execute(update(Feed).where(Feed.id == feed_id).values(**_poll_values(poll)))
        if polls:
            session.execute(insert(FeedPoll), [
                {"feed_id": feed_id, "polled_at": p.polled_at, "capture_id": p.capture_id,
                 "http_status": p.http_status, "outcome": p.outcome, "new_entries": p.new_entries,
                 "interval": p.interval, "warning": p.warning, "error": p.error}
                for feed_id, p in polls])


def _poll_values(poll: FeedUpdate) -> dict[str, Any]:
    values: dict[str, Any] = {"last_polled_at": poll.polled_at, "last_status": poll.http_status,
                              "interval": poll.interval, "next_poll_at": poll.next_poll_at}
    if poll.outcome == "failed":
        values.update(last_error=poll.error,
                      consecutive_failures=Feed.consecutive_failures + 1)
    else:
        values.update(last_success_at=poll.polled_at, last_error=None, consecutive_failures=0)
    if poll.outcome == "fetched":  # the latest document's warning; warning_at: the last one seen
        values.update(etag=poll.etag, last_modified=poll.last_modified, warning=poll.warning)
        if poll.title:
            values["title"] = poll.title
        if poll.warning:
            values["warning_at"] = poll.polled_at
    if poll.new_entries:
        values["last_new_entry_at"] = poll.polled_at
    return values


def store_entries(sessions: Sessions, feed: FeedRecord, entries: Sequence[NewEntry], *, now: datetime,
                  feed_capture_id: int | None) -> list[EntryRecord]:
    """Store the entries not seen before (by GUID, then link, then title and day); return them."""
    keys: dict[str, set[str]] = {"guid_key": set(), "link_key": set(), "title_key": set()}
    for entry in entries:
        for name in keys:
            if getattr(entry, name):
                keys[name].add(getattr(entry, name))
    stored: list[EntryRecord] = []
    with sessions() as session, session.begin():
        cond = [getattr(FeedEntry, name).in_(sorted(values)) for name, values in keys.items() if values]
        seen: dict[str, set[str]] = {name: set() for name in keys}
        if cond:
            stmt = select(FeedEntry.guid_key, FeedEntry.link_key, FeedEntry.title_key).where(
                FeedEntry.feed_id == feed.id, or_(*cond))
            for found in session.execute(stmt):
                for name in seen:
                    seen[name].add(getattr(found, name))
        for entry in entries:
            if any(getattr(entry, name) and getattr(entry, name) in seen[name] for name in seen):
                continue
            row = FeedEntry(feed_id=feed.id, guid=entry.guid, guid_key=entry.guid_key, link=entry.link,
                            link_key=entry.link_key, title=entry.title, title_key=entry.title_key,
                            summary=entry.summary, published=entry.published, first_seen_at=now,
                            feed_capture_id=feed_capture_id)
            try:
                with session.begin_nested():  # another poller may have stored it meanwhile
                    session.add(row)
            except IntegrityError:
                continue
            for name in seen:
                if getattr(entry, name):
                    seen[name].add(getattr(entry, name))
            stored.append(_to(EntryRecord, row, feed=feed.name))
    return stored


def set_entry_captures(sessions: Sessions, captures: Sequence[tuple[int, int | None, str]]) -> None:
    """Link entries to their article captures: (entry id, capture id, outcome)."""
    if not captures:
        return
    with sessions() as session, session.begin():
        for entry_id, capture_id, outcome in captures:
            session.execute(update(FeedEntry).where(FeedEntry.id == entry_id)
                            .values(capture_id=capture_id, capture_outcome=outcome))


def add_matches(sessions: Sessions, feed_id: int, matches: Sequence[tuple[int, str, str]],
                now: datetime) -> None:
    """Store keyword matches: (entry id, keyword, field)."""
    if not matches:
        return
    with sessions() as session, session.begin():
        session.execute(insert(FeedMatch), [
            {"entry_id": e, "feed_id": feed_id, "keyword": k, "field": f, "matched_at": now}
            for e, k, f in matches])


def entries_of(sessions: Sessions, name: str | None = None, *, ids: Sequence[int] | None = None,
               outcome: str | None = None, matched_only: bool = False,
               limit: int = 100) -> list[EntryRecord]:
    """The newest entries (of one feed, or all, or with these ids, or with this capture outcome),
    with the keywords that matched them."""
    stmt = select(FeedEntry, Feed.name).join(Feed, Feed.id == FeedEntry.feed_id)
    if name is not None:
        stmt = stmt.where(Feed.name == name)
    if outcome is not None:
        stmt = stmt.where(FeedEntry.capture_outcome == outcome)
    if ids is not None:
        stmt = stmt.where(FeedEntry.id.in_(list(ids)))
    if matched_only:
        stmt = stmt.where(FeedEntry.id.in_(select(FeedMatch.entry_id)))
    stmt = stmt.order_by(FeedEntry.id.desc()).limit(limit)
    with sessions() as session:
        rows = list(session.execute(stmt))
        found: dict[int, list[str]] = {}
        ids = [row.id for row, _ in rows]
        if ids:
            for entry_id, keyword in session.execute(
                    select(FeedMatch.entry_id, FeedMatch.keyword).where(FeedMatch.entry_id.in_(ids))
                    .order_by(FeedMatch.id)):
                if keyword not in found.setdefault(entry_id, []):
                    found[entry_id].append(keyword)
        return [_to(EntryRecord, row, feed=feed, matched=tuple(found.get(row.id, ())))
                for row, feed in rows]


# -- schedules and runs ------------------------------------------------------------------------------
def add_schedule(sessions: Sessions, *, kind: str, targets: Sequence[str], action: str,
                 every_seconds: float | None, cron: str | None, adaptive: bool,
                 now: datetime) -> ScheduleRecord:
    """Store a schedule; its job id is ``schedule-<id>``."""
    with sessions() as session, session.begin():
        row = Schedule(kind=kind, targets=list(targets), action=action, every_seconds=every_seconds,
                       cron=cron, adaptive=adaptive, paused=False, created_at=now)
        session.add(row)
        session.flush()
        row.job_id = f"schedule-{row.id}"
    return _to(ScheduleRecord, row, targets=tuple(row.targets))


def get_schedule(sessions: Sessions, schedule_id: int) -> ScheduleRecord | None:
    """The schedule with this id, or None."""
    with sessions() as session:
        row = session.get(Schedule, schedule_id)
        return _to(ScheduleRecord, row, targets=tuple(row.targets or ())) if row else None


def list_schedules(sessions: Sessions) -> list[ScheduleRecord]:
    """Every schedule, by id."""
    with sessions() as session:
        rows = session.execute(select(Schedule).order_by(Schedule.id)).scalars()
        return [_to(ScheduleRecord, row, targets=tuple(row.targets or ())) for row in rows]


def set_schedule_paused(sessions: Sessions, schedule_id: int, paused: bool) -> bool:
    """Mark a schedule paused or active; False when there is no such schedule."""
    with sessions() as session, session.begin():
        result = session.execute(update(Schedule).where(Schedule.id == schedule_id).values(paused=paused))
        return bool(result.rowcount)  # type: ignore[attr-defined]


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
    return _to(RunRecord, row), "started"


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


def runs_of(sessions: Sessions, job_id: str | None = None, *, limit: int | None = None) -> list[RunRecord]:
    """Runs (of one job, or all), oldest first."""
    stmt = select(ScheduleRun).order_by(ScheduleRun.id.desc())
    if job_id is not None:
        stmt = stmt.where(ScheduleRun.job_id == job_id)
    if limit:
        stmt = stmt.limit(limit)
    with sessions() as session:
        return [_to(RunRecord, row) for row in session.execute(stmt).scalars()][::-1]


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
        return _to(LeaseRecord, row) if row else None


# -- webhooks and deliveries -----------------------------------------------------------------------------
def add_webhook(sessions: Sessions, url: str, events: Sequence[str], now: datetime) -> WebhookRecord:
    """Add a webhook; it is told about checks and matches stored from now on."""
    with sessions() as session, session.begin():
        row = Webhook(url=url, events=list(events), created_at=now,
                      last_check_id=session.execute(select(func.max(Check.id))).scalar() or 0,
                      last_match_id=session.execute(select(func.max(FeedMatch.id))).scalar() or 0)
        session.add(row)
    return _to(WebhookRecord, row, events=tuple(row.events))


def list_webhooks(sessions: Sessions) -> list[WebhookRecord]:
    """Every webhook, by id."""
    with sessions() as session:
        rows = session.execute(select(Webhook).order_by(Webhook.id)).scalars()
        return [_to(WebhookRecord, row, events=tuple(row.events or ())) for row in rows]


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
            out.append(_to(CheckEvent, row, previous_status=previous))
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
        return [_to(DeliveryRecord, row) for row in rows]


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
        return [_to(DeliveryRecord, row) for row in session.execute(stmt).scalars()]
