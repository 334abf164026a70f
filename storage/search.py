"""Full-text search over extracted texts: indexing, query parsing, searching (the listings of the web
interface and the Memento lookups are in ``storage.queries``).

One search document is kept per distinct extracted text of a URL (canonical key + text sha256): a revisit
or a re-extraction of the same text adds nothing, and a date filter matches a document when any capture
of its URL with that text falls in the range. The full-text index is SQLite FTS5 on the embedded default
and a GIN-indexed ``tsvector`` on PostgreSQL (migration 0004); both tokenize without stemming, so the
same query finds the same documents on both. SQLite stores the text compressed and indexes it through
a view that inflates it (migration 0022, ``storage.packedtext``).

Snippets mark matched terms with ``HIT_START`` / ``HIT_END`` (private-use characters), so callers can
escape the snippet for their output and then turn the marks into highlighting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Float, Table, bindparam, exists, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import SearchQueryError
from storage.models import Capture, Extraction, SearchDocument, UTCDateTime
from storage.packedtext import deflate_text
from storage.records import ExtractionInput
from storage.timefmt import iso_z
from storage.warcread import read_record_at

__all__ = [
    "HIT_END",
    "HIT_START",
    "SearchHit",
    "SearchQueryError",
    "SearchResults",
    "fts5_query",
    "host_of",
    "index_texts",
    "reindex",
    "search",
]

HIT_START = "\ue000"
HIT_END = "\ue001"
_PG_HEADLINE_CHARS = 100_000
_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_DOCUMENTS = cast(Table, SearchDocument.__table__)



@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One matching text: the first capture of the URL that had it, and a snippet around the match."""

    document_id: int
    capture_id: int
    url: str
    url_key: str
    host: str
    captured_at: datetime
    title: str | None
    text_sha256: str
    snippet: str
    rank: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (the snippet keeps its HIT_START/HIT_END marks as ``[[`` and ``]]``)."""
        return {"capture_id": self.capture_id, "url": self.url, "url_key": self.url_key,
                "host": self.host, "captured_at": iso_z(self.captured_at),
                "title": self.title, "text_sha256": self.text_sha256,
                "snippet": self.snippet.replace(HIT_START, "[[").replace(HIT_END, "]]"),
                "rank": self.rank}


@dataclass(frozen=True, kw_only=True)
class SearchResults:
    """A page of hits, best first; ``more`` tells whether another page exists."""

    query: str
    hits: list[SearchHit]
    more: bool
    total: int | None = None  # every match (all pages), when counted (``search(count=True)``)


def host_of(url: str) -> str:
    """The lower-cased host of ``url`` without ``www.`` (what the site filter matches)."""
    host = (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class _Term:
    words: str
    prefix: bool = False


def _parse(query: str) -> tuple[list[list[_Term]], list[_Term]]:
    """(AND of OR-groups, excluded terms) of a user query; raises SearchQueryError when empty."""
    groups: list[list[_Term]] = []
    negative: list[_Term] = []
    pending_or = False
    for neg, quoted, bare in _TERM.findall(query):
        if bare == "OR" and groups:
            pending_or = True
            continue
        prefix = False
        if bare:
            neg = "-" if bare.startswith("-") and len(bare) > 1 else ""
            word = bare[1:] if neg else bare
            prefix = word.endswith("*") and len(word) > 1
            quoted = word.rstrip("*") if prefix else word
        if not re.search(r"\w", quoted):
            continue
        term = _Term(quoted.strip(), prefix)
        if neg:
            negative.append(term)
        elif pending_or:
            groups[-1].append(term)
            pending_or = False
        else:
            groups.append([term])
    if not groups:
        raise SearchQueryError(f"nothing to search for in {query!r} (give at least one word)")
    return groups, negative


def _fts5_term(term: _Term) -> str:
    return '"' + term.words.replace('"', '""') + '"' + ("*" if term.prefix else "")


def fts5_query(query: str) -> str:
    """Turn what a user typed into a safe FTS5 expression: every word or "quoted phrase" must occur,
    ``word*`` matches a prefix, ``-word`` excludes, ``OR`` between two terms means either.

    Raises SearchQueryError when nothing searchable is left.
    """
    groups, negative = _parse(query)
    parts = [_fts5_term(g[0]) if len(g) == 1 else "(" + " OR ".join(map(_fts5_term, g)) + ")"
             for g in groups]
    expr = " AND ".join(parts)
    for term in negative:
        expr = f"({expr}) NOT {_fts5_term(term)}"
    return expr


def _pg_tsquery(query: str, params: dict[str, Any]) -> str:
    """The same query as a PostgreSQL tsquery SQL expression (values go into ``params``)."""
    groups, negative = _parse(query)

    def one(term: _Term) -> str:
        name = f"t{len(params)}"
        if term.prefix:
            params[name] = " & ".join("'" + w.replace("'", "''") + "':*"
                                      for w in re.findall(r"\w+", term.words))
            return f"to_tsquery('simple', :{name})"
        params[name] = term.words
        return f"phraseto_tsquery('simple', :{name})"

    expr = " && ".join("(" + " || ".join(map(one, g)) + ")" for g in groups)
    for term in negative:
        expr = f"({expr}) && !!{one(term)}"
    return expr


# -- indexing ------------------------------------------------------------------------------------

def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    if dialect != "postgresql":  # SQLite keeps the text compressed (storage.packedtext)
        rows = [{**row, "text": deflate_text(row["text"])} for row in rows]
    # Core executemany of one cached statement: a multi-row VALUES was compiled anew for every batch
    # (through the ORM's bulk machinery): ~0.1 ms of the writer's CPU per text in groups of 8
    stmt = maker(_DOCUMENTS).on_conflict_do_nothing()
    if dialect == "postgresql":
        with session.begin_nested():  # a failed index insert must never undo the archive's own rows
            session.execute(stmt, rows)
    else:
        session.execute(stmt, rows)


def _row(capture: Any, text_sha256: str, title: str | None, body: str) -> dict[str, Any]:
    return {"capture_id": capture.id, "url": capture.url, "url_key": capture.url_key,
            "host": host_of(capture.url), "captured_at": capture.captured_at,
            "text_sha256": text_sha256, "title": title, "text": body}


def index_texts(session: Session, items: Sequence[ExtractionInput]) -> int:
    """Index the texts of extractions being committed in ``session`` (call inside its transaction).

    Texts already indexed for the same URL key, and the texts of soft-404 probes (no page of the
    archive), are skipped. Returns the number of rows offered.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    wanted = [i for i in items if i.status == "ok" and i.text and i.text_sha256]
    # the captures' columns in one query (one ORM load per text cost ~0.3 ms each)
    captures = {c.id: c for c in session.execute(
        select(Capture.id, Capture.url, Capture.url_key, Capture.captured_at)
        .where(Capture.id.in_({i.capture_id for i in wanted}), Capture.purpose.is_(None)))} if wanted else {}
    for item in wanted:
        capture = captures.get(item.capture_id)
        if capture is None or not item.text or not item.text_sha256:
            continue
        rows.setdefault((capture.url_key, item.text_sha256),
                        _row(capture, item.text_sha256, item.title, item.text))
    _insert(session, list(rows.values()))
    return len(rows)


def reindex(sessions: sessionmaker[Session], warc_dir: Path, *, batch: int = 200) -> int:
    """Index every extracted text that is not in the search index yet (texts are read from the WARCs).

    Use after an upgrade, or to rebuild the index after emptying it. Returns the number indexed.
    """
    done = 0
    last = 0
    indexed = exists().where(SearchDocument.url_key == Capture.url_key,
                             SearchDocument.text_sha256 == Extraction.text_sha256)
    while True:
        with sessions() as session, session.begin():
            pairs = session.execute(
                select(Capture, Extraction).join(Extraction, Extraction.capture_id == Capture.id)
                .where(Extraction.status == "ok", Extraction.warc_file.is_not(None),
                       Extraction.text_sha256.is_not(None), Capture.purpose.is_(None), Capture.id > last,
                       ~indexed)
                .order_by(Capture.id).limit(batch)).all()
            if not pairs:
                return done
            rows: dict[tuple[str, str], dict[str, Any]] = {}
            for capture, ext in pairs:
                key = (capture.url_key, ext.text_sha256 or "")
                if key in rows:
                    continue
                record = read_record_at(warc_dir, ext.warc_file or "", ext.warc_offset or 0)
                content = json.loads(record.payload.decode("utf-8"))
                if content.get("text"):
                    rows[key] = _row(capture, key[1], ext.title, content["text"])
            _insert(session, list(rows.values()))
            done += len(rows)
            last = pairs[-1][0].id


# -- searching -----------------------------------------------------------------------------------

def _filters(site: str | None, since: datetime | None, until: datetime | None,
             url_keys: Sequence[str] | None, params: dict[str, Any]) -> str:
    sql = []
    if site:
        params["site"] = host_of(site)
        params["site_like"] = "%." + params["site"]
        sql.append("(d.host = :site OR d.host LIKE :site_like)")
    if url_keys is not None:
        names = []
        for i, key in enumerate(url_keys):
            params[f"k{i}"] = key
            names.append(f":k{i}")
        sql.append(f"d.url_key IN ({', '.join(names) or 'NULL'})")
    if since is not None or until is not None:
        cond = ["c.url_key = d.url_key", "e.text_sha256 = d.text_sha256"]
        for name, op, value in (("since", ">=", since), ("until", "<=", until)):
            if value is not None:
                params[name] = value
                cond.append(f"c.captured_at {op} :{name}")
        sql.append("EXISTS (SELECT 1 FROM captures c JOIN extractions e ON e.capture_id = c.id "
                   f"WHERE {' AND '.join(cond)})")
    return "".join(f" AND {s}" for s in sql)


# bm25 with the title weighted 5x; as FTS5's ``rank`` column (lower is better) or as a function call
_BM25 = "bm25(5.0, 1.0)"


def _sqlite_ranked(cols: str, where: str) -> str:
    """The SQLite query of one page of matches, best first (ties by id), without snippets.

    Ranking every match is the cost of a query (bm25 reads each match's positions and, once per query,
    every document of each term for its IDF). Without filters on the documents the page is chosen in
    the FTS5 table alone and only its rows are joined; with filters the join must come first.
    """
    if not where:
        return (f"SELECT {cols}, '' AS snippet, -r.rank AS rank FROM (SELECT rowid AS id, rank "
                f"FROM search_fts WHERE search_fts MATCH :q AND rank MATCH '{_BM25}' "
                "ORDER BY rank, rowid LIMIT :limit OFFSET :offset) r "
                "JOIN search_documents d ON d.id = r.id ORDER BY r.rank, d.id")
    return (f"SELECT {cols}, '' AS snippet, -bm25(search_fts, 5.0, 1.0) AS rank FROM search_fts "
            "JOIN search_documents d ON d.id = search_fts.rowid "
            f"WHERE search_fts MATCH :q{where} ORDER BY bm25(search_fts, 5.0, 1.0), d.id "
            "LIMIT :limit OFFSET :offset")


def _sqlite_snippets(session: Session, match: str, ids: Sequence[int]) -> dict[int, str]:
    """Snippets of the documents ``ids`` for the FTS5 expression ``match`` (the page only: snippet()
    tokenizes the whole text, far too slow for every match)."""
    if not ids:
        return {}
    names = {f"i{n}": doc_id for n, doc_id in enumerate(ids)}
    page = text(f"SELECT rowid, snippet(search_fts, 1, '{HIT_START}', '{HIT_END}', '…', 24) "
                "FROM search_fts WHERE search_fts MATCH :q AND rowid IN "
                f"({', '.join(':' + k for k in names)})")
    return {row[0]: row[1] for row in session.execute(page, {"q": match, **names})}


def search(
    sessions: sessionmaker[Session], query: str, *, site: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    url_keys: Sequence[str] | None = None, limit: int = 20, offset: int = 0, count: bool = False,
) -> SearchResults:
    """Full-text search, best match first. ``site`` matches a host and its subdomains; ``since`` and
    ``until`` bound the capture time; ``url_keys`` restricts to those canonical keys (a report's URLs).
    ``count``: also count every match (``total``; one more query, without ranking or snippets).

    Raises SearchQueryError for a query without words.
    """
    match = fts5_query(query)  # validates the query on both dialects
    params: dict[str, Any] = {"limit": limit + 1, "offset": offset}
    where = _filters(site, since, until, url_keys, params)
    cols = "d.id, d.capture_id, d.url, d.url_key, d.host, d.captured_at, d.title, d.text_sha256"
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            tsquery = _pg_tsquery(query, params)
            params["opts"] = (f"StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=30, MinWords=12, "
                              "MaxFragments=2, FragmentDelimiter=\" … \"")
            sql = (f"SELECT {cols}, ts_headline('simple', left(d.text, {_PG_HEADLINE_CHARS}), q.q, "
                   ":opts) AS snippet, r.rank FROM (SELECT d.id, ts_rank_cd(d.tsv, q.q) AS rank "
                   f"FROM search_documents d, (SELECT {tsquery} AS q) q "
                   f"WHERE d.tsv @@ q.q{where} ORDER BY rank DESC, d.id LIMIT :limit OFFSET :offset) r "
                   f"JOIN search_documents d ON d.id = r.id, (SELECT {tsquery} AS q) q "
                   "ORDER BY r.rank DESC, d.id")
        else:
            params["q"] = match
            sql = _sqlite_ranked(cols, where)
        stmt = text(sql).bindparams(*[bindparam(n, type_=UTCDateTime()) for n in ("since", "until")
                                      if n in params])
        typed = stmt.columns(captured_at=UTCDateTime(), rank=Float())
        rows = [dict(r) for r in session.execute(typed, params).mappings().all()]
        if rows and session.get_bind().dialect.name != "postgresql":
            snippets = _sqlite_snippets(session, match, [r["id"] for r in rows[:limit]])
            for row in rows:
                row["snippet"] = snippets.get(row["id"], "")
        total = None
        if count:  # its own parameters: the tsquery's names count the parameters already there
            counted: dict[str, Any] = {}
            total = _count(session, query, match, _filters(site, since, until, url_keys, counted), counted)
    hits = [SearchHit(document_id=r["id"], capture_id=r["capture_id"], url=r["url"],
                      url_key=r["url_key"], host=r["host"], captured_at=r["captured_at"],
                      title=r["title"], text_sha256=r["text_sha256"], snippet=r["snippet"] or "",
                      rank=float(r["rank"] or 0.0))
            for r in rows[:limit]]
    return SearchResults(query=query, hits=hits, more=len(rows) > limit, total=total)


def _count(session: Session, query: str, match: str, where: str, params: dict[str, Any]) -> int:
    """How many documents match (the filters of ``where`` with their ``params``)."""
    if session.get_bind().dialect.name == "postgresql":
        sql = (f"SELECT count(*) FROM search_documents d, (SELECT {_pg_tsquery(query, params)} AS q) q "
               f"WHERE d.tsv @@ q.q{where}")
    else:
        params["q"] = match
        sql = ("SELECT count(*) FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid "
               f"WHERE search_fts MATCH :q{where}")
    stmt = text(sql).bindparams(*[bindparam(n, type_=UTCDateTime()) for n in ("since", "until")
                                  if n in params])
    return int(session.execute(stmt, params).scalar() or 0)
