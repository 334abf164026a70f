"""Check rows: write a batch, read a URL's checks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import ledger
from storage.canonical import url_key
from storage.models import Check
from storage.records import CheckRecord

__all__ = ["add_checks", "check_ids_of_report", "check_record", "checks_of", "insert_checks",
           "latest_verdict_changes"]


def check_record(row: Check) -> CheckRecord:
    """The record of a check row."""
    return CheckRecord(
        id=row.id, url=row.url, checked_at=row.checked_at, capture_id=row.capture_id,
        baseline_id=row.baseline_id, probe_id=row.probe_id, status=row.status,
        similarity=row.similarity, redirected=bool(row.redirected), http_status=row.http_status,
        final_url=row.final_url, sha256=row.sha256, text_sha256=row.text_sha256,
        signals=tuple(row.signals or ()), quotes=tuple(row.quotes or ()), report=row.report,
        ref=row.ref, raw_status=row.raw_status, raw_similarity=row.raw_similarity,
        ignored_rules=tuple(row.ignored_rules or ()),
    )


def add_checks(sessions: sessionmaker[Session], checks: Sequence[CheckRecord]) -> list[CheckRecord]:
    """Store checks in one transaction; returns them with their ids."""
    with sessions() as session, session.begin():
        return insert_checks(session, checks)


def insert_checks(session: Session, checks: Sequence[CheckRecord]) -> list[CheckRecord]:
    """In the caller's transaction: the check rows and their ledger entries; the checks with their ids."""
    rows = []
    for check in checks:
        row = Check(
            url=check.url, url_key=url_key(check.url), checked_at=check.checked_at,
            capture_id=check.capture_id, baseline_id=check.baseline_id, probe_id=check.probe_id,
            status=check.status, similarity=check.similarity, redirected=check.redirected,
            http_status=check.http_status, final_url=check.final_url, sha256=check.sha256,
            text_sha256=check.text_sha256, signals=list(check.signals),
            quotes=list(check.quotes), report=check.report, ref=check.ref,
            raw_status=check.raw_status, raw_similarity=check.raw_similarity,
            ignored_rules=list(check.ignored_rules) or None,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    ledger.append_rows(session, ledger.CHECK, rows)  # same transaction (storage.ledger)
    return [check_record(row) for row in rows]


def checks_of(sessions: sessionmaker[Session], url: str) -> list[CheckRecord]:
    """Every check of the URL's canonical key, oldest first."""
    with sessions() as session:
        rows = session.execute(select(Check).where(Check.url_key == url_key(url))
                               .order_by(Check.checked_at, Check.id)).scalars().all()
        return [check_record(row) for row in rows]


def check_ids_of_report(sessions: sessionmaker[Session], report: str) -> list[int]:
    """The ids of every check made for ``report``'s citations, oldest first."""
    with sessions() as session:
        return list(session.scalars(select(Check.id).where(Check.report == report).order_by(Check.id)))


def latest_verdict_changes(sessions: sessionmaker[Session], limit: int = 20
                           ) -> list[tuple[CheckRecord, str | None]]:
    """Checks whose verdict differs from the previous check of the same URL (a first check counts when it
    is not ``unchanged``), newest first, each with the previous verdict."""
    prev = func.lag(Check.status).over(partition_by=Check.url_key,
                                       order_by=(Check.checked_at, Check.id)).label("prev")
    inner = select(Check.id, Check.status, Check.checked_at, prev).subquery()
    changed = (select(inner.c.id, inner.c.prev)
               .where((inner.c.prev.is_(None) & (inner.c.status != "unchanged"))
                      | (inner.c.prev != inner.c.status))
               .order_by(inner.c.checked_at.desc(), inner.c.id.desc()).limit(limit))
    with sessions() as session:
        found: dict[int, str | None] = {row[0]: row[1] for row in session.execute(changed)}
        rows = session.execute(select(Check).where(Check.id.in_(list(found)))
                               .order_by(Check.checked_at.desc(), Check.id.desc())).scalars().all()
        return [(check_record(row), found[row.id]) for row in rows]
