"""Typed queries over the feed tables: feeds, their poll log, entries and keyword matches.

Every function takes a session factory and returns frozen records, never ORM rows. Writes that can race
between two pollers (claiming a feed, storing an entry) are single conditional statements or unique
constraints, so they are safe on SQLite and PostgreSQL alike. The writes of a poll cycle are batched
(one statement per kind of change, executed for many rows), because most polls change nothing: a
cycle of 500 ``304`` answers is 500 small updates and poll-log rows, not 1,000 round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.canonical import url_key
from storage.errors import DuplicateNameError, NotFoundError
from storage.models import Capture, Feed, FeedEntry, FeedMatch, FeedPoll

__all__ = [
    "DuplicateNameError", "EntryRecord", "FeedRecord", "FeedUpdate", "NewEntry", "add_feed", "add_matches",
    "claim_feed", "due_feeds", "entries_of", "feed_url_keys", "get_feed", "last_document_digest",
    "list_feeds", "pending_entries", "record_polls", "remove_feed", "set_entry_captures", "set_feed_paused",
    "settle_entry", "store_entries", "to_record",
]

Sessions = sessionmaker[Session]
R = TypeVar("R")
_FEEDS = cast(Table, Feed.__table__)  # FromClause to the type checker; a Table for declarative models
_ENTRIES = cast(Table, FeedEntry.__table__)
_KEYS = ("guid_key", "link_key", "title_key")



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
    last_outcome: str | None = None  # the latest poll's outcome (None: never polled)

    @property
    def paused(self) -> bool:
        """True when the feed is paused: it has no next poll time, so no due-feeds poll takes it."""
        return self.next_poll_at is None


@dataclass(frozen=True, kw_only=True)
class FeedUpdate:
    """What one poll changes on its feed (validators only when the document was fetched)."""

    polled_at: datetime
    outcome: str  # fetched | not-modified | failed | refused
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


def to_record(cls: type[R], row: Any, **extra: Any) -> R:
    """A frozen record of ``cls`` from an ORM row (or any object with the fields), plus ``extra``."""
    values = {f.name: getattr(row, f.name) for f in fields(cls)  # type: ignore[arg-type]
              if f.name not in extra and hasattr(row, f.name)}
    return cls(**values, **extra)


def _feed(row: Feed, entries: int = 0, matches: int = 0, last_outcome: str | None = None) -> FeedRecord:
    return to_record(FeedRecord, row, keywords=tuple(row.keywords or ()), entries=entries, matches=matches,
                     last_outcome=last_outcome)


def _last_outcome() -> Any:
    """The outcome of a feed's latest poll, as a column of a query over ``Feed``."""
    return (select(FeedPoll.outcome).where(FeedPoll.feed_id == Feed.id)
            .order_by(FeedPoll.polled_at.desc(), FeedPoll.id.desc()).limit(1)
            .correlate(Feed).scalar_subquery())


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
        found = session.execute(select(Feed, _last_outcome()).where(Feed.name == name)).one_or_none()
        return _feed(found[0], last_outcome=found[1]) if found else None


def list_feeds(sessions: Sessions, *, counts: bool = True) -> list[FeedRecord]:
    """Every feed, by name, with its entry and match counts (zero when ``counts`` is False: a
    poller does not need them, and counting reads every entry)."""
    if not counts:
        with sessions() as session:
            return [_feed(row, last_outcome=last) for row, last in
                    session.execute(select(Feed, _last_outcome()).order_by(Feed.name))]
    entries = select(FeedEntry.feed_id, func.count().label("n")).group_by(FeedEntry.feed_id).subquery()
    matches = (select(FeedMatch.feed_id, func.count(func.distinct(FeedMatch.entry_id)).label("n"))
               .group_by(FeedMatch.feed_id).subquery())
    stmt = (select(Feed, entries.c.n, matches.c.n, _last_outcome())
            .outerjoin(entries, entries.c.feed_id == Feed.id)
            .outerjoin(matches, matches.c.feed_id == Feed.id).order_by(Feed.name))
    with sessions() as session:
        return [_feed(row, e or 0, m or 0, last) for row, e, m, last in session.execute(stmt)]


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


def set_feed_paused(sessions: Sessions, name: str, paused: bool, now: datetime) -> FeedRecord | None:
    """Pause a feed (no next poll time: the daemon's due-feeds polls skip it; a poll asked for by name
    still runs and leaves it paused) or resume it (due now); None when there is no such feed."""
    with sessions() as session, session.begin():
        row = session.execute(select(Feed).where(Feed.name == name)).scalar_one_or_none()
        if row is None:
            return None
        row.next_poll_at = None if paused else (row.next_poll_at or now)
        session.flush()
        return _feed(row)


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
    """Store polls' outcomes on their feeds and in the poll log, in one transaction.

    Polls that change the same columns share one UPDATE statement executed for all of them (a cycle
    of ``304`` answers is one statement and one multi-row INSERT, whatever the number of feeds).
    """
    if not polls:
        return
    groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
    for feed_id, poll in polls:
        values = _poll_values(poll)
        groups.setdefault((poll.outcome == "failed", tuple(sorted(values))), []).append(
            {"feed_id_": feed_id, **{f"{k}_": v for k, v in values.items()}})
    with sessions() as session, session.begin():
        for (failed, columns), params in groups.items():
            stmt = update(_FEEDS).where(_FEEDS.c.id == bindparam("feed_id_")).values(
                {name: bindparam(f"{name}_") for name in columns})
            if "next_poll_at" in columns:  # a feed paused meanwhile stays paused
                stmt = stmt.values(next_poll_at=case((_FEEDS.c.next_poll_at.is_(None), None),
                                                     else_=bindparam("next_poll_at_")))
            if failed:
                stmt = stmt.values(consecutive_failures=_FEEDS.c.consecutive_failures + 1)
            session.connection().execute(stmt, params)
        session.execute(insert(FeedPoll), [
            {"feed_id": feed_id, "polled_at": p.polled_at, "capture_id": p.capture_id,
             "http_status": p.http_status, "outcome": p.outcome, "new_entries": p.new_entries,
             "interval": p.interval, "warning": p.warning, "error": p.error}
            for feed_id, p in polls])


def _poll_values(poll: FeedUpdate) -> dict[str, Any]:
    """The literal column values a poll sets (a failure also adds one to ``consecutive_failures``; a
    refused fetch is no failure and no success: it ends a run of failures and keeps ``last_success_at``)."""
    values: dict[str, Any] = {"last_polled_at": poll.polled_at, "last_status": poll.http_status,
                              "interval": poll.interval, "next_poll_at": poll.next_poll_at}
    if poll.outcome == "failed":
        values["last_error"] = poll.error
    elif poll.outcome == "refused":
        values.update(last_error=poll.error, consecutive_failures=0)
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


def last_document_digest(sessions: Sessions, feed_id: int) -> str | None:
    """The sha256 of the document the feed's last successful fetch read (None: never fetched).

    A document with the same digest holds no entry that was not stored then.
    """
    stmt = (select(Capture.sha256).join(FeedPoll, FeedPoll.capture_id == Capture.id)
            .where(FeedPoll.feed_id == feed_id, FeedPoll.outcome == "fetched")
            .order_by(FeedPoll.polled_at.desc(), FeedPoll.id.desc()).limit(1))
    with sessions() as session:
        return session.execute(stmt).scalar_one_or_none()


# -- entries and matches -------------------------------------------------------------------------------
def store_entries(sessions: Sessions, feed: FeedRecord, entries: Sequence[NewEntry], *, now: datetime,
                  feed_capture_id: int | None) -> list[EntryRecord]:
    """Store the entries not seen before (by GUID, then link, then title and day); return them.

    The new entries are inserted with one statement; when another poller stored one of them
    meanwhile (a unique key clash), they are inserted one by one and the clashing ones skipped.
    """
    keys: dict[str, set[str]] = {name: set() for name in _KEYS}
    for entry in entries:
        for name in _KEYS:
            if getattr(entry, name):
                keys[name].add(getattr(entry, name))
    with sessions() as session, session.begin():
        cond = [getattr(FeedEntry, name).in_(sorted(values)) for name, values in keys.items() if values]
        seen: dict[str, set[str]] = {name: set() for name in _KEYS}
        if cond:
            stmt = select(FeedEntry.guid_key, FeedEntry.link_key, FeedEntry.title_key).where(
                FeedEntry.feed_id == feed.id, or_(*cond))
            for found in session.execute(stmt):
                for name in _KEYS:
                    seen[name].add(getattr(found, name))
        fresh: list[NewEntry] = []
        for entry in entries:  # the first of several entries sharing a key wins
            if any(getattr(entry, name) and getattr(entry, name) in seen[name] for name in _KEYS):
                continue
            fresh.append(entry)
            for name in _KEYS:
                if getattr(entry, name):
                    seen[name].add(getattr(entry, name))
        if not fresh:
            return []
        rows = [_entry_row(feed.id, e, now, feed_capture_id) for e in fresh]
        try:
            with session.begin_nested():
                ids = list(session.connection().execute(
                    insert(_ENTRIES).returning(_ENTRIES.c.id, sort_by_parameter_order=True), rows
                ).scalars())
        except IntegrityError:  # a concurrent poller stored some of them: one by one
            ids = []
            kept = []
            for row in rows:
                try:
                    with session.begin_nested():
                        ids.append(session.connection().execute(
                            insert(_ENTRIES).returning(_ENTRIES.c.id), row).scalar_one())
                    kept.append(row)
                except IntegrityError:
                    continue
            rows = kept
    return [EntryRecord(id=entry_id, feed=feed.name, capture_id=None, capture_outcome=None,
                        **{k: v for k, v in row.items() if k in _RECORD_FIELDS})
            for entry_id, row in zip(ids, rows, strict=True)]


_RECORD_FIELDS = ("feed_id", "guid", "link", "title", "summary", "published", "first_seen_at",
                  "feed_capture_id")


def _entry_row(feed_id: int, entry: NewEntry, now: datetime, feed_capture_id: int | None
               ) -> dict[str, Any]:
    return {"feed_id": feed_id, "guid": entry.guid, "guid_key": entry.guid_key, "link": entry.link,
            "link_key": entry.link_key, "title": entry.title, "title_key": entry.title_key,
            "summary": entry.summary, "published": entry.published, "first_seen_at": now,
            "feed_capture_id": feed_capture_id, "capture_id": None, "capture_outcome": None}


def set_entry_captures(sessions: Sessions, captures: Sequence[tuple[int, int | None, str]]) -> None:
    """Link entries to their article captures: (entry id, capture id, outcome)."""
    if not captures:
        return
    stmt = update(_ENTRIES).where(_ENTRIES.c.id == bindparam("entry_id_")).values(
        capture_id=bindparam("capture_id_"), capture_outcome=bindparam("outcome_"))
    with sessions() as session, session.begin():
        session.connection().execute(stmt, [
            {"entry_id_": entry_id, "capture_id_": capture_id, "outcome_": outcome}
            for entry_id, capture_id, outcome in captures])


def settle_entry(sessions: Sessions, entry_id: int, *, capture_id: int | None, outcome: str,
                 matches: Sequence[tuple[str, str]], now: datetime, expected: str = "queued") -> bool:
    """In one transaction: link an entry whose article capture is ``expected`` (queued for the capture
    workers) to its capture, and store the keyword ``matches`` (keyword, field) found in the article;
    False, storing nothing, when the entry is no longer ``expected`` (another worker settled it)."""
    with sessions() as session, session.begin():
        moved = session.execute(update(_ENTRIES).where(
            _ENTRIES.c.id == entry_id, _ENTRIES.c.capture_outcome == expected).values(
            capture_id=capture_id, capture_outcome=outcome))
        if not getattr(moved, "rowcount", 0):
            return False
        feed_id = session.scalar(select(FeedEntry.feed_id).where(FeedEntry.id == entry_id))
        if matches:
            session.execute(insert(FeedMatch), [
                {"entry_id": entry_id, "feed_id": feed_id, "keyword": k, "field": f, "matched_at": now}
                for k, f in matches])
        return True


def add_matches(sessions: Sessions, feed_id: int, matches: Sequence[tuple[int, str, str]],
                now: datetime) -> None:
    """Store keyword matches: (entry id, keyword, field)."""
    if not matches:
        return
    with sessions() as session, session.begin():
        session.execute(insert(FeedMatch), [
            {"entry_id": e, "feed_id": feed_id, "keyword": k, "field": f, "matched_at": now}
            for e, k, f in matches])


def pending_entries(sessions: Sessions, feed_ids: Sequence[int]) -> list[EntryRecord]:
    """Entries of these feeds whose article capture was started and never finished (a crash)."""
    if not feed_ids:
        return []
    stmt = select(FeedEntry.id).where(FeedEntry.capture_outcome == "pending",
                                      FeedEntry.feed_id.in_(list(feed_ids)))
    with sessions() as session:
        ids = list(session.execute(stmt).scalars())
    return entries_of(sessions, ids=ids, limit=len(ids))[::-1] if ids else []


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
        return [to_record(EntryRecord, row, feed=feed, matched=tuple(found.get(row.id, ())))
                for row, feed in rows]


def feed_url_keys(sessions: Sessions, name: str) -> list[str]:
    """Canonical keys of the articles feed ``name`` has announced (its entries' links);
    NotFoundError when there is no such feed."""
    if get_feed(sessions, name) is None:
        raise NotFoundError(f"no feed named {name!r}")
    return [url_key(e.link) for e in entries_of(sessions, name, limit=1_000_000) if e.link]
