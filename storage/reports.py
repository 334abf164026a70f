"""Reports, their versions and citations: writes and typed reads (plain records out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import ledger
from storage.errors import NoReportError, StorageError
from storage.models import Citation, CitationLink, Report, ReportVersion
from storage.records import CitationData, LinkData, RecordLocation, ReportVersionRecord

__all__ = [
    "NoReportError",
    "add_links",
    "add_version",
    "citations_of",
    "links_of",
    "list_reports",
    "versions_of",
]

_CITATION_FIELDS = [f.name for f in dataclasses.fields(CitationData)]



def _version_record(name: str, row: ReportVersion, count: int = 0) -> ReportVersionRecord:
    return ReportVersionRecord(
        report=name, version=row.version, id=row.id, added_at=row.added_at, source=row.source,
        source_url=row.source_url, format=row.format, title=row.title, sha256=row.sha256,
        size=row.size, capture_id=row.capture_id, warnings=list(row.warnings or []),
        citation_count=count, doc_warc_file=row.doc_warc_file, doc_warc_offset=row.doc_warc_offset,
    )


def _report(session: Session, name: str) -> Report:
    report = session.execute(select(Report).where(Report.name == name)).scalar_one_or_none()
    if report is None:
        known = session.execute(select(Report.name).order_by(Report.name)).scalars().all()
        hint = f" (known reports: {', '.join(known)})" if known else " (no reports yet: add one " \
            "with `collector report add FILE --name NAME`)"
        raise NoReportError(f"no report named {name!r}{hint}")
    return report


def add_version(
    sessions: sessionmaker[Session], name: str, *, source: str, source_url: str | None, format: str,
    title: str | None, sha256: str, size: int, capture_id: int | None, warnings: Sequence[str],
    citations: Sequence[CitationData], links: Sequence[LinkData] = (), now: datetime,
    document: RecordLocation | None = None,
) -> tuple[ReportVersionRecord, bool]:
    """Store a new version of report ``name`` (created if new) with its citations and links.

    Returns (version, created). When the document is byte-identical to the latest version no new
    version is made (links are still added). Everything is written in one transaction.
    """
    with sessions() as session, session.begin():
        report = session.execute(select(Report).where(Report.name == name)).scalar_one_or_none()
        if report is None:
            report = Report(name=name, created_at=now)
            session.add(report)
            session.flush()
        latest = session.execute(
            select(ReportVersion).where(ReportVersion.report_id == report.id)
            .order_by(ReportVersion.version.desc()).limit(1)).scalar_one_or_none()
        _insert_links(session, report.id, links, now)
        if latest is not None and latest.sha256 == sha256:
            return _version_record(name, latest, _count(session, latest.id)), False
        row = ReportVersion(
            report_id=report.id, version=(latest.version + 1) if latest else 1, added_at=now,
            source=source, source_url=source_url, format=format, title=title, sha256=sha256,
            size=size, capture_id=capture_id, warnings=list(warnings),
            doc_warc_file=document.warc_file if document else None,
            doc_warc_offset=document.offset if document else None,
        )
        session.add(row)
        session.flush()
        ledger.append_rows(session, ledger.REPORT_VERSION, [row])  # same transaction (storage.ledger)
        for position, citation in enumerate(citations):
            values = {f: getattr(citation, f) for f in _CITATION_FIELDS}
            for key in ("authors", "urls", "quotes"):
                values[key] = list(values[key])
            session.add(Citation(version_id=row.id, position=position, **values))
        return _version_record(name, row, len(citations)), True


def _insert_links(session: Session, report_id: int, links: Sequence[LinkData], now: datetime) -> None:
    for link in links:
        session.add(CitationLink(report_id=report_id, ref=link.ref, url=link.url, quote=link.quote,
                                 note=link.note, source=link.source, added_at=link.added_at or now))


def add_links(sessions: sessionmaker[Session], name: str, links: Sequence[LinkData], *,
              now: datetime) -> None:
    """Attach URLs, quotes or notes to references of an existing report."""
    with sessions() as session, session.begin():
        _insert_links(session, _report(session, name).id, links, now)


def _count(session: Session, version_id: int) -> int:
    return int(session.execute(select(func.count()).select_from(Citation)
                               .where(Citation.version_id == version_id)).scalar_one())


def versions_of(sessions: sessionmaker[Session], name: str) -> list[ReportVersionRecord]:
    """Every version of the report, oldest first."""
    with sessions() as session:
        report = _report(session, name)
        rows = session.execute(select(ReportVersion).where(ReportVersion.report_id == report.id)
                               .order_by(ReportVersion.version)).scalars().all()
        return [_version_record(name, row, _count(session, row.id)) for row in rows]


def citations_of(sessions: sessionmaker[Session], name: str, version: int | None = None
                 ) -> list[CitationData]:
    """The citations of one version of the report (default: the latest), in document order."""
    with sessions() as session:
        report = _report(session, name)
        stmt = select(ReportVersion).where(ReportVersion.report_id == report.id)
        stmt = (stmt.where(ReportVersion.version == version) if version is not None
                else stmt.order_by(ReportVersion.version.desc()).limit(1))
        row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            raise StorageError(f"report {name!r} has no version {version}")
        cites = session.execute(select(Citation).where(Citation.version_id == row.id)
                                .order_by(Citation.position)).scalars().all()
        out = []
        for cite in cites:
            values = {f: getattr(cite, f) for f in _CITATION_FIELDS}
            for key in ("authors", "urls", "quotes"):
                values[key] = tuple(values[key] or ())
            out.append(CitationData(**values))
        return out


def links_of(sessions: sessionmaker[Session], name: str) -> list[LinkData]:
    """Every link attached to the report, oldest first."""
    with sessions() as session:
        report = _report(session, name)
        rows = session.execute(select(CitationLink).where(CitationLink.report_id == report.id)
                               .order_by(CitationLink.id)).scalars().all()
        return [LinkData(ref=r.ref, url=r.url, quote=r.quote, note=r.note, source=r.source,
                         added_at=r.added_at) for r in rows]


def list_reports(sessions: sessionmaker[Session]) -> list[ReportVersionRecord]:
    """The latest version of every report."""
    with sessions() as session:
        names = session.execute(select(Report.name).order_by(Report.name)).scalars().all()
    return [versions_of(sessions, name)[-1] for name in names if versions_of(sessions, name)]
