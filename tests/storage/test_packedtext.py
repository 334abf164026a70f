"""Search texts stored once, compressed, on SQLite (issue 18, migration 0022): what is stored, that
search and snippets read it, and that the migration converts an existing archive and back."""

from __future__ import annotations

import hashlib
import zlib

import pytest
import sqlalchemy as sa
from alembic import command

from storage import search
from storage.archive import Archive
from storage.database import _alembic_config, make_engine, migrate
from storage.packedtext import deflate_text, inflate_text
from tests.storage.test_search import page

# a text long enough for compression to show, with a word found once (the snippet's)
LONG = " ".join(f"Paragraph {i} of the report on the estuary and its tides." for i in range(60)) + \
    " The dredger Wilhelmina worked at night."


def _stored(engine: sa.Engine) -> list[tuple[object, str]]:
    kind = "pg_typeof(text)::text" if engine.dialect.name == "postgresql" else "typeof(text)"
    with engine.connect() as conn:
        return [(v, t) for v, t in conn.execute(sa.text(
            f"SELECT text, {kind} FROM search_documents ORDER BY id"))]


def test_round_trip_keeps_plain_values() -> None:
    assert inflate_text(deflate_text(LONG)) == LONG
    assert inflate_text("plain, from an older archive") == "plain, from an older archive"
    assert inflate_text(None) is None


def test_sqlite_stores_the_text_compressed_and_search_reads_it(archive: Archive, db_url: str) -> None:
    page(archive, "https://example.org/estuary", LONG, title="Estuary")
    engine = make_engine(db_url)
    try:
        [(value, kind)] = _stored(engine)
    finally:
        engine.dispose()
    if db_url.startswith("sqlite"):
        assert kind == "blob" and isinstance(value, bytes)
        assert len(value) < len(LONG.encode()) / 2  # the point of it
        assert zlib.decompress(value).decode() == LONG
    else:  # PostgreSQL's generated tsvector needs the plain text
        assert value == LONG
    [hit] = search.search(archive.sessions, "wilhelmina").hits
    assert f"{search.HIT_START}Wilhelmina{search.HIT_END}" in hit.snippet
    assert hit.url == "https://example.org/estuary"


def test_0022_compresses_an_existing_archive_and_back(tmp_path: object, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("0022 changes nothing on PostgreSQL")
    engine = make_engine(db_url)
    cfg = _alembic_config()
    try:
        migrate(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013")
        with engine.begin() as conn:  # a document as an archive before 0022 holds it
            conn.execute(sa.text(
                "INSERT INTO captures (id, url, url_key, captured_at, outcome, redirect_chain, records,"
                " ignore_robots, allow_private) VALUES (1, 'http://a.example/', 'example,a)/',"
                " '2026-12-06 00:00:00', 'captured', '[]', '[]', 0, 0)"))
            conn.execute(sa.text(
                "INSERT INTO search_documents (capture_id, url, url_key, host, captured_at, text_sha256,"
                " title, text) VALUES (1, 'http://a.example/', 'example,a)/', 'a.example',"
                " '2026-12-06 00:00:00', :sha, 'Estuary', :text)"),
                {"sha": hashlib.sha256(LONG.encode()).hexdigest(), "text": LONG})
        assert [k for _, k in _stored(engine)] == ["text"]
        migrate(engine)
        [(value, kind)] = _stored(engine)
        assert kind == "blob" and inflate_text(value) == LONG  # type: ignore[arg-type]
        sessions = sa.orm.sessionmaker(engine)
        [hit] = search.search(sessions, "wilhelmina").hits
        assert f"{search.HIT_START}Wilhelmina{search.HIT_END}" in hit.snippet
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013")
        assert _stored(engine) == [(LONG, "text")]
        [hit] = search.search(sessions, "wilhelmina").hits
        assert f"{search.HIT_START}Wilhelmina{search.HIT_END}" in hit.snippet
        with engine.begin() as conn:  # the delete trigger still finds what to remove from the index
            conn.execute(sa.text("DELETE FROM search_documents"))
        assert search.search(sessions, "wilhelmina").hits == []
    finally:
        engine.dispose()
