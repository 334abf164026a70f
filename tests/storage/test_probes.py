"""Soft-404 probes (``captures.purpose``, migration 0010) are kept out of lists, counts, Memento lookups,
CDX, search and ``get --at``, and stay reachable by id; on both databases."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from storage import queries, search
from storage.archive import Archive
from storage.checks import add_checks
from storage.database import _alembic_config, head_revision, make_engine, migrate
from storage.errors import NoCaptureError
from storage.models import CaptureHop, SearchDocument
from storage.records import PROBE, CaptureRecord, CheckRecord
from tests.storage.helpers import T0, redirect_capture
from tests.storage.test_search import extract, page

SITE = "https://news.example.org"
PROBE_URL = SITE + "/river-xq7kz2"  # what check's probe_url makes of /river


def _probe(archive: Archive) -> CaptureRecord:
    """A probe as ``collector check`` captures it: redirected to the home page, text extracted."""
    item = dataclasses.replace(redirect_capture(PROBE_URL, SITE + "/", T0 + timedelta(hours=2),
                                                body=b"<html><body><p>Welcome home</p></body></html>"),
                               context={"probe": True})
    [rec] = archive.commit_captures([item])
    extract(archive, rec, "Welcome home, the front page of the site", title="Home")
    return rec


@pytest.fixture
def site(archive: Archive) -> dict[str, CaptureRecord]:
    return {"river": page(archive, SITE + "/river", "The river carried sediment to the sea"),
            "home": page(archive, SITE + "/", "Welcome home, the front page", at=timedelta(hours=1)),
            "probe": _probe(archive)}


def test_probe_capture_is_marked_and_reachable_by_id(archive: Archive,
                                                     site: dict[str, CaptureRecord]) -> None:
    assert site["probe"].purpose == PROBE and site["river"].purpose is None
    [again] = queries.captures_by_ids(archive.sessions, [site["probe"].id])
    assert again.purpose == PROBE and again.to_json()["purpose"] == PROBE
    assert again.url == PROBE_URL


def test_probe_is_in_no_list_or_count(archive: Archive, site: dict[str, CaptureRecord]) -> None:
    counts = queries.archive_counts(archive.sessions)
    assert counts["captures"] == 2 and counts["urls"] == 2 and counts["texts"] == 2
    assert [c.id for c in queries.latest_captures(archive.sessions)] == [site["home"].id, site["river"].id]
    assert queries.snapshots(archive.sessions, PROBE_URL) == []
    assert queries.snapshots_of(archive.sessions, [PROBE_URL]) == {PROBE_URL: []}
    with pytest.raises(NoCaptureError):
        queries.closest_capture(archive.sessions, PROBE_URL)


def test_probe_is_no_memento_of_its_url_nor_of_where_it_redirected(
        archive: Archive, site: dict[str, CaptureRecord]) -> None:
    assert queries.mementos(archive.sessions, PROBE_URL) == []
    assert [m.id for m in queries.mementos(archive.sessions, SITE + "/")] == [site["home"].id]
    found = queries.cdx_mementos(archive.sessions, SITE + "/", "host")
    assert sorted(m.id for m in found) == sorted([site["home"].id, site["river"].id])
    with archive.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CaptureHop)) == 0


def test_probe_text_is_not_searchable(archive: Archive, site: dict[str, CaptureRecord]) -> None:
    hits = search.search(archive.sessions, "welcome").hits
    assert [h.capture_id for h in hits] == [site["home"].id]
    assert search.reindex(archive.sessions, archive.warc_dir) == 0  # and reindexing does not add it


def test_migration_marks_the_probes_of_existing_checks(db_url: str, archive: Archive,
                                                       site: dict[str, CaptureRecord]) -> None:
    probe, river = site["probe"], site["river"]
    add_checks(archive.sessions, [CheckRecord(url=river.url, checked_at=T0 + timedelta(hours=3),
                                              capture_id=river.id, baseline_id=river.id, probe_id=probe.id,
                                              status="ok")])
    engine = make_engine(db_url)
    try:
        cfg = _alembic_config()
        with engine.begin() as conn:  # an archive from before 0010: the probe unmarked, indexed
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")
        with engine.begin() as conn:
            conn.execute(sa.insert(CaptureHop).values(
                capture_id=probe.id, position=1, url=SITE + "/", url_key=probe.url_key,
                captured_at=probe.captured_at))
            conn.execute(sa.insert(SearchDocument).values(
                capture_id=probe.id, url=probe.url, url_key=probe.url_key, host="news.example.org",
                captured_at=probe.captured_at, text_sha256="0" * 64, title="Home", text="probe words"))
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() \
                == head_revision()
            marked = dict(conn.execute(sa.text("SELECT id, purpose FROM captures")).all())
            assert conn.scalar(sa.select(sa.func.count()).select_from(CaptureHop).where(
                CaptureHop.capture_id == probe.id)) == 0
            assert conn.scalar(sa.select(sa.func.count()).select_from(SearchDocument).where(
                SearchDocument.capture_id == probe.id)) == 0
        assert marked == {river.id: None, site["home"].id: None, probe.id: PROBE}
        assert search.search(archive.sessions, "probe").hits == []
    finally:
        engine.dispose()
