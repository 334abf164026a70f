"""JSON columns are written without separator spaces (issue 18), on both databases, and read back
the same; rows written before (with spaces) still read."""

from __future__ import annotations

import json

import sqlalchemy as sa

from storage import queries
from storage.archive import Archive
from storage.database import compact_json, make_engine
from tests.storage.helpers import T0, failed_capture, html_capture, redirect_capture


def _raw(db_url: str, capture_id: int) -> tuple[str, str]:
    engine = make_engine(db_url)
    cast = "::text" if engine.dialect.name == "postgresql" else ""
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(f"SELECT records{cast}, redirect_chain{cast} FROM captures "
                                       "WHERE id = :id"), {"id": capture_id}).one()
    finally:
        engine.dispose()
    return row[0], row[1]


def test_capture_json_columns_are_compact_and_read_back(archive: Archive, db_url: str) -> None:
    [rec] = archive.commit_captures([redirect_capture("http://example.org/a?q=1",
                                                      "https://example.org/b?q=1", T0)])
    records, chain = _raw(db_url, rec.id)
    assert json.loads(records) and json.loads(chain) == [
        {"url": "http://example.org/a?q=1", "status": 301},
        {"url": "https://example.org/b?q=1", "status": 200}]
    for raw in (records, chain):
        assert raw == compact_json(json.loads(raw))  # as written, no re-spacing by the database
        assert ", " not in raw and '": ' not in raw
    [again] = queries.captures_by_ids(archive.sessions, [rec.id])
    assert again.redirect_chain == json.loads(chain)


def test_the_chain_of_a_fetch_not_redirected_is_stored_as_null(archive: Archive, db_url: str
                                                               ) -> None:
    url = "https://example.org/a?q=1"
    [rec, failed] = archive.commit_captures([html_capture(url), failed_capture(url)])
    assert _raw(db_url, rec.id)[1] == "null"  # the row's final_url and http_status say it
    assert rec.redirect_chain == [{"url": url, "status": 200}]
    [again, no_answer] = queries.captures_by_ids(archive.sessions, [rec.id, failed.id])
    assert again.redirect_chain == [{"url": url, "status": 200}]
    assert no_answer.redirect_chain == failed.redirect_chain == []


def test_compact_json_escapes_a_lone_surrogate() -> None:
    assert json.loads(compact_json(["\udc80"])) == ["\udc80"]
    assert compact_json({"a": [1, 2]}) == '{"a":[1,2]}'
