"""collector's WARCs replayed by pywb: every captured page comes back as the page, never as the JSON of
collector's own metadata records (issue 13). pywb really runs (tests/pywb_tool.py): ``wb-manager`` indexes
the files, its replay app serves them on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from storage import queries, retrieve, search
from storage.archive import Archive
from storage.models import Extraction
from storage.records import CaptureRecord, ExtractionInput
from storage.verify import verify_archive
from storage.warcread import read_record_at, scan_file
from tests.collector.server.helpers import fetch
from tests.pywb_tool import Pywb
from tests.storage.helpers import T0, failed_capture, html_capture, redirect_capture, warc_files

pytestmark = pytest.mark.slow  # pywb

PAGE = "https://news.example/story"
CHECKED = "https://news.example/checked"
OLD = "https://news.example/old"
MOVED = "https://news.example/moved"
STYLE = "https://news.example/style.css"
DOWN = "https://down.example/"
CAPTURE_URN = "urn:collector:capture:"  # the targets of collector's metadata records (a public contract)
TEXT_URN = "urn:collector:text:"


def page(title: str) -> bytes:
    return (f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>The text of {title}, as the reader saw it.</p></article></body></html>").encode()


def extracted(capture: CaptureRecord, title: str) -> ExtractionInput:
    """The text of ``capture``, extracted a tenth of a second later (same second: as in a crawl)."""
    return ExtractionInput(capture_id=capture.id, url=capture.final_url or capture.url, status="ok",
                           text=f"The text of {title}.", text_sha256="0" * 64, title=title,
                           extracted_at=capture.captured_at + timedelta(milliseconds=100),
                           refers_to=capture.warc_record_id)


def build(tmp_path: Path) -> tuple[Path, list[CaptureRecord]]:
    """An archive with every kind of metadata record collector writes; (WARC dir, page captures)."""
    warc_dir = tmp_path / "warcs"
    archive = Archive.open(f"sqlite:///{tmp_path / 'db.sqlite'}", warc_dir)
    try:
        plain, checked, moved, style, _ = archive.commit_captures([
            html_capture(PAGE, T0, body=page("Story")),  # outcome in its text record
            html_capture(CHECKED, T0, body=page("Checked"),  # a check fetch: an outcome record too
                         context={"check": {"report": "r1", "ref": "3"}}),
            redirect_capture(OLD, MOVED, T0, body=page("Moved")),  # a redirect chain: outcome record
            html_capture(STYLE, T0, body=b"h1 { color: navy; }", content_type="text/css"),  # not HTML
            failed_capture(DOWN, T0),  # nothing but an outcome record
        ])
        [again] = archive.commit_captures([html_capture(  # a revisit with an outcome record
            PAGE, T0 + timedelta(days=1), body=page("Story"), context={"check": {"report": "r1"}})])
        archive.commit_extractions([extracted(plain, "Story"), extracted(checked, "Checked"),
                                    extracted(moved, "Moved")])
    finally:
        archive.close()
    assert again.revisit_of == plain.id
    return warc_dir, [plain, checked, moved, style, again]


def stamp(capture: CaptureRecord) -> str:
    return capture.captured_at.strftime("%Y%m%d%H%M%S")


def test_metadata_records_name_the_page_with_a_urn(tmp_path: Path) -> None:
    warc_dir, captures = build(tmp_path)
    metadata = [r for path in warc_files(warc_dir) for r in scan_file(path)
                if not isinstance(r, Exception) and r.type == "metadata"]
    assert len(metadata) == 8  # 3 texts, 5 outcomes (checked, moved, style, down, the revisit)
    by_target = {r.headers["WARC-Target-URI"] for r in metadata}
    assert by_target == {TEXT_URN + PAGE, TEXT_URN + CHECKED, TEXT_URN + MOVED, CAPTURE_URN + CHECKED,
                         CAPTURE_URN + MOVED, CAPTURE_URN + STYLE, CAPTURE_URN + DOWN,
                         CAPTURE_URN + PAGE}
    ids = {c.warc_record_id for c in captures}
    for record in metadata:
        assert record.headers["Content-Type"] == "application/json"
        target = record.headers["WARC-Target-URI"]
        if target == CAPTURE_URN + DOWN:  # a fetch without exchanges: nothing else to point at
            assert json.loads(record.payload)["outcome"] == "failed"
            assert "WARC-Refers-To" not in record.headers and "WARC-Concurrent-To" not in record.headers
            continue
        assert record.headers["WARC-Refers-To"] in ids  # the response (or revisit) it describes
        if target.startswith(CAPTURE_URN):  # written in the same capture event
            assert record.headers["WARC-Concurrent-To"] == record.headers["WARC-Refers-To"]


def test_pywb_replays_every_captured_page_as_the_page(tmp_path: Path, pywb: Pywb) -> None:
    warc_dir, captures = build(tmp_path)
    pywb.manager("init", "evidence")
    pywb.manager("add", "evidence", *map(str, warc_files(warc_dir)))
    index = pywb.index("evidence")
    # pywb indexes the metadata records too, but under their urn:, never under a page's URL
    for line in index:
        entry = json.loads(line.split(" ", 2)[2])
        if entry.get("mime") == "application/json":
            assert entry["url"].startswith((CAPTURE_URN, TEXT_URN)), line
    with pywb.serving() as base:
        for capture in captures:
            url = capture.final_url or capture.url
            reply = fetch(f"{base}/evidence/{stamp(capture)}id_/{url}")
            assert reply.status == 200, (url, reply.status, reply.body[:200])
            assert reply.body == retrieve.capture_payload(warc_dir, capture), (url, reply.body[:200])
            assert reply.header("content-type") == capture.content_type, url
            # and in pywb's own (rewritten) replay of the page
            framed = fetch(f"{base}/evidence/{stamp(capture)}mp_/{url}")
            assert framed.status == 200 and framed.header("content-type") == capture.content_type
        # a fetch that got no response has nothing to replay: no JSON in its place either
        assert fetch(f"{base}/evidence/{stamp(captures[0])}id_/{DOWN}").status == 404


def test_metadata_records_of_the_old_form_still_read(tmp_path: Path) -> None:
    """Files written before issue 13 have the page URL as the metadata target: text, verify and search
    read them by offset, so they read the same."""
    warc_dir = tmp_path / "warcs"
    archive = Archive.open(f"sqlite:///{tmp_path / 'db.sqlite'}", warc_dir)
    try:
        [capture] = archive.commit_captures([html_capture(PAGE, T0, body=page("Story"))])
        old = archive.writer.write_metadata(  # as collector wrote the text record before
            PAGE, {"type": "extracted-text", "extractor": "trafilatura", "outcome": "captured",
                   "title": "Story", "text": "The text of Story.", "text_sha256": "1" * 64},
            moment=T0, refers_to=capture.warc_record_id)
        archive.writer.sync()
        with archive.sessions() as session, session.begin():
            session.execute(insert(Extraction), [{
                "capture_id": capture.id, "status": "ok", "text_sha256": "1" * 64, "text_length": 18,
                "title": "Story", "extracted_at": T0, "warc_file": old.warc_file,
                "warc_offset": old.offset, "warc_length": old.length}])
        assert read_record_at(warc_dir, old.warc_file, old.offset).headers["WARC-Target-URI"] == PAGE
        [row] = list(queries.iter_captures(archive.sessions))
        assert retrieve.capture_main_text(warc_dir, row) == "The text of Story."
        assert verify_archive(archive.sessions, warc_dir).ok
        assert search.reindex(archive.sessions, warc_dir) >= 1
    finally:
        archive.close()

