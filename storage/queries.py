"""Typed read queries. They return frozen records (``storage.records``), never ORM rows.

Besides the capture lookups: the Memento hot path (``mementos``, light references instead of whole
records) and the listings of the web interface's home page (counts, latest captures, verdict changes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Dialect,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

from storage.canonical import url_key
from storage.errors import NoCaptureError
from storage.hops import chain_of
from storage.models import (
    EXTRACTION_PENDING,
    Capture,
    CaptureHop,
    Check,
    Extraction,
    Report,
    SearchDocument,
    UTCDateTime,
)
from storage.records import CaptureMode, CaptureRecord
from storage.retrieve import EXTRACTED_TYPES
from storage.warcfile import full_record_id, warc_date

__all__ = [
    "MATCH_TYPES",
    "MementoRef",
    "archive_counts",
    "capture_modes_of",
    "capture_record",
    "captures_by_ids",
    "cdx_mementos",
    "closest_capture",
    "find_original",
    "iter_captures",
    "latest_captures",
    "mementos",
    "page_requisites",
    "pending_extractions",
    "requisites_of_pages",
    "snapshots",
    "snapshots_of",
]

HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_html_type(content_type: str | None) -> bool:
    """True for an HTML or XHTML Content-Type."""
    return bool(content_type and content_type.split(";", 1)[0].strip().lower() in HTML_TYPES)


def expand_records(row: Capture) -> list[dict[str, Any]]:
    """The row's WARC records as dicts (type, file, offset, length, uri; id and date when known).

    Rows store each record compactly as ``[type, offset, length, short id, {file?, uri?}]``: the
    file defaults to the row's ``warc_file``, the URI to its final URL, the date of the final
    response to ``captured_at``, and the main record's id (null there) is ``warc_record_id``. Older
    rows stored the dicts themselves.
    """
    out = []
    for entry in row.records or []:
        if isinstance(entry, dict):
            out.append(dict(entry))
            continue
        kind, offset, length, rid, *rest = entry
        extra = rest[0] if rest else {}
        rec = {"type": kind, "uri": extra.get("uri") or row.final_url or row.url,
               "file": extra.get("file") or row.warc_file, "offset": offset, "length": length,
               "id": full_record_id(rid) if rid else None, "date": extra.get("date")}
        if rec["file"] == row.warc_file and offset == row.warc_offset:
            rec["id"] = row.warc_record_id
        if not rec["date"] and kind in ("response", "revisit") and rec["uri"] == (
                row.final_url or row.url):
            rec["date"] = warc_date(row.captured_at)
        out.append(rec)
    return out


def _base() -> Select[Capture, Extraction]:
    # a revisit's text is its original's: the payload is the same, so it is extracted once
    return select(Capture, Extraction).outerjoin(
        Extraction, Extraction.capture_id == func.coalesce(Capture.revisit_of, Capture.id))


def capture_record(row: Any, ext: Any | None) -> CaptureRecord:
    """The record of a captures row (any object with its columns as attributes) and its extraction."""
    return _record(row, ext)


def _record(row: Capture, ext: Extraction | None) -> CaptureRecord:
    return CaptureRecord(
        id=row.id, url=row.url, url_key=row.url_key, captured_at=row.captured_at,
        outcome=row.outcome, reason=row.reason, reason_detail=row.reason_detail,
        http_status=row.http_status, final_url=row.final_url,
        redirect_chain=chain_of(row.redirect_chain, row.final_url, row.http_status),
        content_type=row.content_type,
        content_length=row.content_length, sha256=row.sha256, warc_file=row.warc_file,
        warc_offset=row.warc_offset, warc_length=row.warc_length,
        warc_record_id=row.warc_record_id, payload_file=row.payload_file,
        payload_offset=row.payload_offset, payload_length=row.payload_length,
        revisit_of=row.revisit_of, records=expand_records(row), ip_address=row.ip_address,
        ignore_robots=bool(row.ignore_robots), allow_private=bool(row.allow_private),
        run_id=row.run_id, purpose=row.purpose, mode=row.mode, mode_reason=row.mode_reason,
        page_id=row.page_id,
        extraction_status=ext.status if ext else None,
        text_sha256=ext.text_sha256 if ext else None,
        title=ext.title if ext else None,
        published=ext.published if ext else None,
        text_file=ext.warc_file if ext else None,
        text_offset=ext.warc_offset if ext else None,
        tls_verified=row.tls_verified, tls_fingerprint=row.tls_fingerprint,
        tls_issuer=row.tls_issuer, tls_detail=row.tls_detail, proxy=row.proxy,
    )


def find_original(session: Session, key: str, sha256: str) -> Capture | None:
    """The earliest stored (non-revisit) response of ``key`` whose payload has this sha256."""
    stmt = (
        select(Capture)
        .where(Capture.url_key == key, Capture.sha256 == sha256, Capture.revisit_of.is_(None),
               Capture.payload_file.is_not(None))
        .order_by(Capture.captured_at, Capture.id)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def captures_by_ids(sessions: sessionmaker[Session], ids: Sequence[int]) -> list[CaptureRecord]:
    """Captures with these ids, in the order given."""
    if not ids:
        return []
    with sessions() as session:
        found = {row.id: _record(row, ext)
                 for row, ext in session.execute(_base().where(Capture.id.in_(list(ids))))}
    return [found[i] for i in ids]


def requisites_of_pages(sessions: sessionmaker[Session], page_ids: Sequence[int]) -> list[CaptureRecord]:
    """The captures loaded for the page captures ``page_ids`` (requisites, browser sub-resources), by id."""
    if not page_ids:
        return []
    with sessions() as session:
        return [_record(row, ext) for row, ext in session.execute(
            _base().where(Capture.page_id.in_(list(page_ids))).order_by(Capture.id))]


def snapshots(sessions: sessionmaker[Session], url: str) -> list[CaptureRecord]:
    """Every capture of the URL's canonical key, oldest first (soft-404 probes are not snapshots)."""
    stmt = (_base().where(Capture.url_key == url_key(url), Capture.purpose.is_(None))
            .order_by(Capture.captured_at, Capture.id))
    with sessions() as session:
        return [_record(row, ext) for row, ext in session.execute(stmt)]


def snapshots_of(sessions: sessionmaker[Session], urls: Sequence[str]
                 ) -> dict[str, list[CaptureRecord]]:
    """``snapshots`` of many URLs in a few queries: URL -> its captures, oldest first."""
    keys = {url: url_key(url) for url in urls}
    by_key: dict[str, list[CaptureRecord]] = {key: [] for key in keys.values()}
    wanted = list(by_key)
    with sessions() as session:
        for start in range(0, len(wanted), 500):
            stmt = (_base().where(Capture.url_key.in_(wanted[start:start + 500]), Capture.purpose.is_(None))
                    .order_by(Capture.captured_at, Capture.id))
            for row, ext in session.execute(stmt):
                by_key[row.url_key].append(_record(row, ext))
    return {url: list(by_key[key]) for url, key in keys.items()}


def capture_modes_of(sessions: sessionmaker[Session], urls: Sequence[str]
                     ) -> dict[str, list[CaptureMode]]:
    """How each URL's captures (any spelling of it, probes left out) were fetched, oldest first: a
    check looks its baselines' modes up in this light query before its crawl starts."""
    keys = {url: url_key(url) for url in urls}
    by_key: dict[str, list[CaptureMode]] = {key: [] for key in keys.values()}
    wanted = list(by_key)
    columns = (Capture.url_key, Capture.id, Capture.captured_at, Capture.outcome, Capture.http_status,
               Capture.mode, Capture.page_id)
    with sessions() as session:
        for start in range(0, len(wanted), 500):
            stmt = (select(*columns)
                    .where(Capture.url_key.in_(wanted[start:start + 500]), Capture.purpose.is_(None))
                    .order_by(Capture.captured_at, Capture.id))
            for row in session.execute(stmt):
                by_key[row.url_key].append(CaptureMode(
                    id=row.id, captured_at=row.captured_at, outcome=row.outcome,
                    http_status=row.http_status, mode=row.mode or "http", page_id=row.page_id))
    return {url: list(by_key[key]) for url, key in keys.items()}


_CAPTURES = Capture.__table__
_EXTRACTIONS = Extraction.__table__


@lru_cache(maxsize=8)
def _closest_statement(only_captured: bool, kind: str) -> Select[Any]:
    """The statement of one closest_capture candidate, built once (building it costs more than
    running it): ``kind`` is latest, earlier (at or before :at) or later (after :at)."""
    cap = _CAPTURES.c
    cond = [cap.url_key == bindparam("key"), cap.purpose.is_(None)]
    if only_captured:
        cond.append(cap.outcome == "captured")
    newest_first = (cap.captured_at.desc(), cap.id.desc())
    if kind == "earlier":
        cond.append(cap.captured_at <= bindparam("at"))
    elif kind == "later":
        cond.append(cap.captured_at > bindparam("at"))
    joined = _CAPTURES.outerjoin(
        _EXTRACTIONS, _EXTRACTIONS.c.capture_id == func.coalesce(cap.revisit_of, cap.id))
    return (select(_CAPTURES, *(c.label(f"ext_{c.name}") for c in _EXTRACTIONS.c))
            .select_from(joined).where(*cond)
            .order_by(*((cap.captured_at, cap.id) if kind == "later" else newest_first)).limit(1))


def _extraction_of(row: Any) -> Any | None:
    if row.ext_capture_id is None:
        return None
    return SimpleNamespace(**{c.name: getattr(row, f"ext_{c.name}") for c in _EXTRACTIONS.c})


def closest_capture(
    sessions: sessionmaker[Session], url: str, at: datetime | None = None, *,
    before: bool = False, only_captured: bool = True,
) -> CaptureRecord:
    """The capture of ``url`` closest to ``at`` (Memento semantics; ties go to the earlier one), never
    a soft-404 probe.

    ``at`` None means the latest. ``before`` restricts to captures at or before ``at``. With
    ``only_captured`` failed attempts are passed over. Raises NoCaptureError when none matches.
    """
    params: dict[str, Any] = {"key": url_key(url)}
    kinds = ["latest"] if at is None else ["earlier"] if before else ["earlier", "later"]
    if at is not None:
        params["at"] = at
    with sessions() as session:
        candidates = [row for kind in kinds
                      for row in session.execute(_closest_statement(only_captured, kind), params)]
    if not candidates:
        when = f" at or before {at.isoformat()}" if before and at else ""
        raise NoCaptureError(f"no capture of {url}{when} in the archive")
    if at is None:
        row = candidates[0]
    else:
        row = min(candidates, key=lambda c: (abs((c.captured_at - at).total_seconds()),
                                             c.captured_at))
    # a Row with Capture's column names: _record reads only attributes
    return _record(cast(Capture, row), _extraction_of(row))


def pending_extractions(sessions: sessionmaker[Session], limit: int | None = None, *,
                        deferred: bool = False) -> list[CaptureRecord]:
    """Captured HTML and PDF responses that have no extraction row yet (e.g. after a crash); with
    ``deferred``, also those archived without extraction (status ``pending``: capture --no-extract)."""
    type_match = [func.lower(Capture.content_type).like(f"{t}%") for t in EXTRACTED_TYPES]
    missing: ColumnElement[bool] = Extraction.capture_id.is_(None)
    if deferred:
        missing = or_(missing, Extraction.status == EXTRACTION_PENDING)
    stmt = (_base().where(Capture.outcome == "captured", Capture.payload_file.is_not(None),
                          Capture.revisit_of.is_(None), missing, or_(*type_match))
            .order_by(Capture.id))
    if limit:
        stmt = stmt.limit(limit)
    with sessions() as session:
        return [_record(row, ext) for row, ext in session.execute(stmt)]


def iter_captures(sessions: sessionmaker[Session], batch: int = 1000) -> Iterator[CaptureRecord]:
    """Every capture, by id, fetched in batches."""
    last = 0
    while True:
        with sessions() as session:
            rows = list(session.execute(_base().where(Capture.id > last)
                                        .order_by(Capture.id).limit(batch)))
        if not rows:
            return
        for row, ext in rows:
            yield _record(row, ext)
        last = rows[-1][0].id


# -- the Memento hot path -------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class MementoRef:
    """A light reference to one memento (what TimeGates and TimeMaps need): a successful capture's
    final response, or one hop of its redirect chain (``hop`` set, see ``storage.hops``)."""

    id: int  # the capture's id
    url: str
    captured_at: datetime
    http_status: int | None
    sha256: str | None
    content_type: str | None
    hop: int | None = None  # position in the capture's redirect chain; None: the capture's own row
    target_url: str | None = None  # a redirect hop's target (the next memento of the chain)
    target_at: datetime | None = None
    warc_file: str | None = None  # where the hop's response record is
    warc_offset: int | None = None
    warc_length: int | None = None
    url_key: str | None = None

    @property
    def is_redirect(self) -> bool:
        """True for a hop that answered with a redirect to the next URL of its chain."""
        return self.target_url is not None


def _memento_columns(table: Any, own: bool) -> list[Any]:
    c = table.c
    if own:
        extra = [null().cast(Integer), null().cast(Text), null().cast(UTCDateTime()), c.warc_file,
                 c.warc_offset, c.warc_length]
        first = c.id
    else:
        extra = [c.position, c.target_url, c.target_at, c.warc_file, c.warc_offset, c.warc_length]
        first = c.capture_id
    names = ("id", "url", "captured_at", "http_status", "sha256", "content_type", "hop", "target_url",
             "target_at", "warc_file", "warc_offset", "warc_length", "url_key")
    columns = [first, c.url, c.captured_at, c.http_status, c.sha256, c.content_type, *extra, c.url_key]
    return [column.label(name) for column, name in zip(columns, names, strict=True)]


def _memento_union(key_condition: Callable[[Any], Any], time_conditions: Callable[[Any], list[Any]]
                   ) -> CompoundSelect[Any]:
    """Every memento whose key matches: captures rows that stand for their final response (the chain,
    if any, ended at the row's own key) and the hops of ``capture_hops``; never a soft-404 probe (nor
    its hops, which are not indexed)."""
    cap, hop = _CAPTURES.c, CaptureHop.__table__
    own = (select(*_memento_columns(_CAPTURES, True))
           .where(key_condition(cap.url_key), cap.outcome == "captured", cap.purpose.is_(None),
                  func.coalesce(cap.final_url_key, cap.url_key) == cap.url_key,
                  *time_conditions(cap.captured_at)))
    hops = (select(*_memento_columns(hop, False))
            .where(key_condition(hop.c.url_key), *time_conditions(hop.c.captured_at)))
    return union_all(own, hops)


_MEMENTOS = _memento_union(lambda key: key == bindparam("key"), lambda _: []).order_by(
    literal_column("captured_at"), literal_column("id"), literal_column("hop"))
# A TimeGate, its memento, the framed page and its embeds all look the same URLs up again; the SURT
# canonicalization costs more than the indexed query, and it is a pure function.
_memento_key = lru_cache(maxsize=16_384)(url_key)
@lru_cache(maxsize=8)
def _compiled_mementos(dialect: Dialect) -> SQLCompiler:
    compiled = _MEMENTOS.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def _utc(value: datetime | str) -> datetime:
    """A stored ``captured_at`` as UTCDateTime reads it (SQLite's driver returns text)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC)


def mementos(sessions: sessionmaker[Session], url: str) -> list[MementoRef]:
    """Every capture of ``url``'s canonical key with outcome ``captured``, oldest first (the rows
    ``snapshots`` keeps, without whole records).

    This is the Memento hot path (every TimeGate, TimeMap and memento request): the statement is
    compiled once per dialect and run on a pooled DBAPI connection, which halves its cost compared with
    SQLAlchemy's execution layer (measured in bench/serve_bench.py).
    """
    engine = sessions.kw["bind"]
    compiled = _compiled_mementos(engine.dialect)
    params = compiled.construct_params({"key": _memento_key(url)})
    args: Any = tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(compiled.string, args)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    finally:
        conn.close()  # back to the pool (rolled back)
    return [_memento_ref(r) for r in rows]


def _memento_ref(r: Sequence[Any]) -> MementoRef:
    return MementoRef(id=r[0], url=r[1], captured_at=_utc(r[2]), http_status=r[3], sha256=r[4],
                      content_type=r[5], hop=r[6], target_url=r[7],
                      target_at=_utc(r[8]) if r[8] is not None else None, warc_file=r[9],
                      warc_offset=r[10], warc_length=r[11], url_key=r[12])


# -- listings of the web interface ------------------------------------------------------------------

def archive_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many captures, distinct URLs, extracted texts, reports and checks the archive holds (soft-404
    probes and page requisites are counted in none of them: they are no pages)."""
    page = and_(Capture.purpose.is_(None), Capture.page_id.is_(None))
    with sessions() as session:
        def count(stmt: Any) -> int:
            return int(session.execute(stmt).scalar_one())

        return {
            "captures": count(select(func.count()).select_from(Capture).where(page)),
            "urls": count(select(func.count(func.distinct(Capture.url_key))).where(page)),
            "texts": count(select(func.count()).select_from(SearchDocument).join(
                Capture, Capture.id == SearchDocument.capture_id).where(page)),
            "reports": count(select(func.count()).select_from(Report)),
            "checks": count(select(func.count()).select_from(Check)),
        }


def latest_captures(sessions: sessionmaker[Session], limit: int = 20) -> list[CaptureRecord]:
    """The most recent page captures, newest first (soft-404 probes and page requisites left out)."""
    with sessions() as session:
        ids = session.execute(select(Capture.id).where(Capture.purpose.is_(None), Capture.page_id.is_(None))
                              .order_by(Capture.captured_at.desc(), Capture.id.desc())
                              .limit(limit)).scalars().all()
    return captures_by_ids(sessions, list(ids))


def page_requisites(sessions: sessionmaker[Session], page_id: int) -> list[CaptureRecord]:
    """The captures loaded for the page capture ``page_id`` (its requisites, its browser sub-resources,
    its media), in the order they were taken. A requisite another page of the same run had already
    fetched is that page's (fetched once per run): find it by URL."""
    stmt = _base().where(Capture.page_id == page_id).order_by(Capture.captured_at, Capture.id)
    with sessions() as session:
        return [_record(row, ext) for row, ext in session.execute(stmt)]


# -- the CDX server ---------------------------------------------------------------------------------

MATCH_TYPES = ("exact", "prefix", "host", "domain")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def cdx_mementos(sessions: sessionmaker[Session], url: str, match_type: str = "exact", *,
                 start: datetime | None = None, end: datetime | None = None, limit: int = 10_000
                 ) -> list[MementoRef]:
    """Mementos of the URLs ``url`` names with ``match_type`` (as a CDX server's ``matchType``):
    ``exact`` its canonical key, ``prefix`` every key starting with it, ``host`` every URL of its host,
    ``domain`` of its host and subdomains. Sorted by key, then time; at most ``limit``; ``start`` and
    ``end`` bound the time (inclusive)."""
    if match_type not in MATCH_TYPES:
        raise ValueError(f"unknown match type {match_type!r} (use {', '.join(MATCH_TYPES)})")
    key = url_key(url)
    host = key.split(")", 1)[0]

    def condition(column: Any) -> Any:
        if match_type == "exact":
            return column == key
        if match_type == "prefix":
            return column.like(_like_escape(key.rstrip("/")) + "%", escape="\\")
        if match_type == "host":
            return column.like(_like_escape(host + ")") + "%", escape="\\")
        name = host.split(":", 1)[0]  # the domain on any port, and its subdomains
        return or_(*(column.like(_like_escape(name + end) + "%", escape="\\") for end in "):,"))

    def times(column: Any) -> list[Any]:
        return [*([column >= start] if start else []), *([column <= end] if end else [])]

    stmt = _memento_union(condition, times).order_by(
        literal_column("url_key"), literal_column("captured_at"), literal_column("id"),
        literal_column("hop")).limit(limit)
    with sessions() as session:
        return [_memento_ref(tuple(row)) for row in session.execute(stmt)]
