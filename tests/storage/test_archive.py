"""Archive.commit_captures / commit_extractions on SQLite and PostgreSQL: rows, records, revisits."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage import queries, retrieve
from storage.archive import Archive, payload_digest
from storage.canonical import url_key
from storage.errors import NoCaptureError
from storage.records import CaptureInput, CaptureRecord, ExtractionInput
from storage.warcread import WarcRecord, check_record, read_record_at
from tests.conftest import warcio_check
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import (
    HTML,
    T0,
    exchange,
    failed_capture,
    html_capture,
    redirect_capture,
    sha256_hex,
    warc_files,
)

URL = "https://example.com/news/story"
TEXT = "Hello, world."


def own_record(archive: Archive, capture: CaptureRecord) -> WarcRecord:
    assert capture.warc_file is not None and capture.warc_offset is not None
    return read_record_at(archive.warc_dir, capture.warc_file, capture.warc_offset)


def metadata_of(archive: Archive, capture: CaptureRecord) -> dict[str, object]:
    [meta] = [r for r in capture.records if r["type"] == "metadata"]
    record = read_record_at(archive.warc_dir, meta["file"], meta["offset"])
    return dict(json.loads(record.payload))


def extraction_for(capture: CaptureRecord, at: datetime = T0, *, status: str = "ok",
                   text: str | None = TEXT, title: str | None = "Hello") -> ExtractionInput:
    return ExtractionInput(
        capture_id=capture.id, url=capture.url, status=status, text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest() if text is not None else None,
        title=title, published="2024-04-30", language="en", extracted_at=at,
        refers_to=capture.warc_record_id,
    )


def commit_one(archive: Archive, item: CaptureInput) -> CaptureRecord:
    [record] = archive.commit_captures([item])
    return record


# -- a plain 200 ------------------------------------------------------------------------------

def test_html_response_row(archive: Archive) -> None:
    item = html_capture(URL, T0, context={"citation": {"report": "r1", "n": 3}})
    rec = commit_one(archive, item)

    assert rec.id > 0
    assert rec.url == URL
    assert rec.url_key == url_key(URL) == "com,example)/news/story"
    assert rec.captured_at == T0
    assert rec.captured_at.tzinfo is not None and rec.captured_at.utcoffset() == timedelta(0)
    assert rec.outcome == "captured"
    assert rec.reason is None
    assert rec.http_status == 200
    assert rec.final_url == URL
    assert rec.redirect_chain == [{"url": URL, "status": 200}]
    assert rec.content_type == "text/html; charset=utf-8"
    assert rec.content_length == len(HTML)
    assert rec.sha256 == hashlib.sha256(HTML).hexdigest()
    assert rec.revisit_of is None and not rec.is_revisit
    assert (rec.payload_file, rec.payload_offset, rec.payload_length) == \
        (rec.warc_file, rec.warc_offset, rec.warc_length)
    assert [r["type"] for r in rec.records] == ["response", "request", "metadata"]
    assert rec.records[0]["id"] == rec.warc_record_id
    assert rec.records[0]["offset"] == rec.warc_offset
    assert rec.records[0]["length"] == rec.warc_length
    assert rec.extraction_status is None and rec.text_sha256 is None


def test_html_response_record(archive: Archive) -> None:
    rec = commit_one(archive, html_capture(URL, T0))
    record = own_record(archive, rec)

    assert record.type == "response"
    assert record.headers["WARC-Record-ID"] == rec.warc_record_id
    assert record.headers["WARC-Target-URI"] == URL
    assert record.length == rec.warc_length
    assert record.payload == HTML
    assert sha256_hex(record.payload) == rec.sha256
    assert record.headers["WARC-Payload-Digest"] == payload_digest(HTML)[1]
    assert check_record(record) == []
    assert retrieve.capture_payload(archive.warc_dir, rec) == HTML
    assert retrieve.capture_headers(archive.warc_dir, rec).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_header_warcio_cannot_encode_is_archived(archive: Archive) -> None:
    """A Link header with a raw UTF-8 URL (read as latin-1, as Scrapy's headers are) failed the
    whole group commit in warcio's header encoding; its non-ASCII characters are %-encoded now."""
    link = "<https://example.com/caf\u00c3\u00a9>; rel=preload"
    item = html_capture(URL, T0)
    item.exchanges[0].response_headers.append(("Link", link))
    rec = commit_one(archive, item)
    record = own_record(archive, rec)
    assert ("Link", "<https://example.com/caf%C3%83%C2%A9>; rel=preload") in record.http_headers
    assert record.payload == HTML
    assert check_record(record) == []


def test_every_listed_record_is_where_the_row_says(archive: Archive) -> None:
    rec = commit_one(archive, redirect_capture("http://example.com/old", URL, T0))
    for entry in rec.records:
        record = read_record_at(archive.warc_dir, entry["file"], entry["offset"])
        assert record.headers["WARC-Record-ID"] == entry["id"]
        assert record.type == entry["type"]
        assert record.length == entry["length"]
        assert record.headers.get("WARC-Target-URI", "") == entry["uri"]
        assert check_record(record) == []


def test_metadata_record_describes_the_attempt(archive: Archive) -> None:
    context = {"citation": {"report": "r1", "n": 3}}
    rec = commit_one(archive, html_capture(URL, T0, context=context))
    meta = metadata_of(archive, rec)
    assert meta["url"] == URL
    assert meta["outcome"] == "captured"
    assert meta["sha256"] == rec.sha256
    assert meta["context"] == context
    assert meta["captured_at"] == "2024-05-01T12:00:00.250000Z"
    [entry] = [r for r in rec.records if r["type"] == "metadata"]
    record = read_record_at(archive.warc_dir, entry["file"], entry["offset"])
    assert record.headers["WARC-Refers-To"] == rec.warc_record_id


def test_captured_at_round_trips_as_utc_with_microseconds(archive: Archive) -> None:
    at = datetime(2024, 5, 1, 14, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))
    rec = commit_one(archive, html_capture(URL, at))
    assert rec.captured_at == datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC)
    assert rec.captured_at.tzinfo is not None and rec.captured_at.utcoffset() == timedelta(0)
    assert rec.to_json()["captured_at"] == "2024-05-01T12:00:00.123456Z"
    [again] = queries.snapshots(archive.sessions, URL)
    assert again.captured_at == rec.captured_at


# -- failures and redirects -------------------------------------------------------------------

def test_failed_attempt_without_exchanges(archive: Archive) -> None:
    rec = commit_one(archive, failed_capture(URL, T0, reason="dns-error", detail="NXDOMAIN"))

    assert rec.outcome == "failed"
    assert rec.reason == "dns-error"
    assert rec.reason_detail == "NXDOMAIN"
    assert rec.http_status is None
    assert rec.sha256 is None
    assert rec.content_type is None and rec.content_length is None
    assert rec.payload_file is None and rec.payload_offset is None
    assert [r["type"] for r in rec.records] == ["metadata"]
    assert rec.warc_file == rec.records[0]["file"]
    assert rec.warc_offset == rec.records[0]["offset"]
    meta = metadata_of(archive, rec)
    assert meta["outcome"] == "failed" and meta["reason"] == "dns-error"
    with pytest.raises(NoCaptureError):
        retrieve.capture_payload(archive.warc_dir, rec)
    with pytest.raises(NoCaptureError):
        retrieve.capture_headers(archive.warc_dir, rec)


def test_failed_attempt_after_a_redirect_keeps_the_hops(archive: Archive) -> None:
    item = CaptureInput(
        url="http://example.com/old", captured_at=T0, outcome="failed", reason="timeout",
        exchanges=[exchange("http://example.com/old", T0, status=302, body=b"",
                            headers=[("Location", URL)]),
                   exchange(URL, T0 + timedelta(seconds=1), status=None)],
        final_url=URL,
        redirect_chain=[{"url": "http://example.com/old", "status": 302},
                        {"url": URL, "status": None}],
    )
    rec = commit_one(archive, item)
    assert [r["type"] for r in rec.records] == ["response", "request", "request", "metadata"]
    assert rec.http_status is None
    assert rec.payload_file is None
    assert rec.redirect_chain == item.redirect_chain
    assert own_record(archive, rec).type == "metadata"


def test_redirect_chain_of_two_exchanges(archive: Archive) -> None:
    old = "http://example.com/old"
    rec = commit_one(archive, redirect_capture(old, URL, T0))

    assert rec.url == old
    assert rec.url_key == url_key(old)
    assert rec.final_url == URL
    assert rec.http_status == 200
    assert rec.redirect_chain == [{"url": old, "status": 301}, {"url": URL, "status": 200}]
    assert [(r["type"], r["uri"]) for r in rec.records] == [
        ("response", old), ("request", old), ("response", URL), ("request", URL),
        ("metadata", "urn:collector:capture:" + URL)]
    hop1 = read_record_at(archive.warc_dir, rec.records[0]["file"], rec.records[0]["offset"])
    assert hop1.http_status == 301
    assert ("Location", URL) in hop1.http_headers
    final = own_record(archive, rec)
    assert final.headers["WARC-Target-URI"] == URL
    assert final.payload == HTML
    assert rec.sha256 == sha256_hex(HTML)
    assert retrieve.capture_payload(archive.warc_dir, rec) == HTML


def test_batch_returns_records_in_input_order(archive: Archive) -> None:
    items = [html_capture(f"https://example.com/{i}", T0 + timedelta(seconds=i),
                          body=HTML + str(i).encode()) for i in range(3)]
    items.insert(1, failed_capture("https://example.com/gone", T0))
    recs = archive.commit_captures(items)
    assert [r.url for r in recs] == [i.url for i in items]
    assert [r.outcome for r in recs] == ["captured", "failed", "captured", "captured"]
    assert len({r.id for r in recs}) == 4
    assert queries.captures_by_ids(archive.sessions, [recs[2].id, recs[0].id]) == [recs[2], recs[0]]


def test_written_archive_passes_warcio_check(archive: Archive, warc_dir: Path) -> None:
    archive.commit_captures([html_capture(URL, T0), failed_capture("https://x.example/", T0),
                             redirect_capture("http://example.com/old", URL, T0)])
    archive.commit_captures([html_capture(URL, T0 + timedelta(days=1))])  # a revisit
    archive.close()
    warcio_check(warc_dir.parent)


# -- revisits ---------------------------------------------------------------------------------

def test_identical_payload_for_the_same_key_is_a_revisit(archive: Archive) -> None:
    first = commit_one(archive, html_capture(URL, T0))
    # another spelling of the same URL, a day later, same bytes
    again_url = "http://www.example.com/news/story/?utm_source=feed"
    second = commit_one(archive, html_capture(again_url, T0 + timedelta(days=1)))

    assert second.revisit_of == first.id and second.is_revisit
    assert second.sha256 == first.sha256
    assert (second.payload_file, second.payload_offset, second.payload_length) == \
        (first.payload_file, first.payload_offset, first.payload_length)
    assert (second.warc_file, second.warc_offset) != (first.warc_file, first.warc_offset)
    assert second.content_length == len(HTML)
    assert retrieve.capture_payload(archive.warc_dir, second) == HTML

    record = own_record(archive, second)
    original = own_record(archive, first)
    assert record.type == "revisit"
    assert record.headers["WARC-Target-URI"] == again_url
    assert record.headers["WARC-Refers-To"] == first.warc_record_id
    assert record.headers["WARC-Refers-To-Target-URI"] == original.headers["WARC-Target-URI"]
    assert record.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
    assert record.headers["WARC-Payload-Digest"] == original.headers["WARC-Payload-Digest"]
    assert record.headers["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    # a plain page fetch has no metadata record of its own: its outcome is its original's
    assert [r["type"] for r in second.records] == ["revisit", "request"]


def test_revisit_refers_to_date_is_the_warc_date_of_the_original_record(archive: Archive) -> None:
    """WARC 1.1: WARC-Refers-To-Date is the WARC-Date of the referred record.

    Storage's contract does not say captured_at equals the last request time, so the revisit must
    take the date from the original record, not from the original row's captured_at.
    """
    item = html_capture(URL, T0)
    first = commit_one(archive, CaptureInput(
        url=item.url, captured_at=T0 + timedelta(seconds=3), outcome="captured",
        exchanges=item.exchanges, final_url=URL))
    second = commit_one(archive, html_capture(URL, T0 + timedelta(days=1)))
    assert second.revisit_of == first.id
    original = own_record(archive, first)
    assert own_record(archive, second).headers["WARC-Refers-To-Date"] == \
        original.headers["WARC-Date"]


def test_revisit_of_a_redirected_original(archive: Archive) -> None:
    old = "http://example.com/old"
    first = commit_one(archive, redirect_capture(old, URL, T0))
    second = commit_one(archive, redirect_capture(old, URL, T0 + timedelta(hours=1)))
    assert second.revisit_of == first.id
    record = own_record(archive, second)
    assert record.headers["WARC-Refers-To-Target-URI"] == URL
    assert record.headers["WARC-Refers-To"] == first.warc_record_id
    assert retrieve.capture_payload(archive.warc_dir, second) == HTML


def test_third_identical_capture_refers_to_the_original_not_the_revisit(archive: Archive) -> None:
    recs = [commit_one(archive, html_capture(URL, T0 + timedelta(days=d))) for d in range(3)]
    assert [r.revisit_of for r in recs] == [None, recs[0].id, recs[0].id]
    assert own_record(archive, recs[2]).headers["WARC-Refers-To"] == recs[0].warc_record_id


def test_revisit_within_one_batch(archive: Archive) -> None:
    first, second = archive.commit_captures(
        [html_capture(URL, T0), html_capture(URL, T0 + timedelta(minutes=5))])
    assert first.revisit_of is None
    assert second.revisit_of == first.id
    assert retrieve.capture_payload(archive.warc_dir, second) == HTML


def test_same_payload_under_another_url_is_not_a_revisit(archive: Archive) -> None:
    first = commit_one(archive, html_capture(URL, T0))
    other = commit_one(archive, html_capture("https://example.com/elsewhere", T0 + timedelta(1)))
    assert other.sha256 == first.sha256
    assert other.revisit_of is None
    assert other.payload_file == other.warc_file and other.payload_offset == other.warc_offset
    assert own_record(archive, other).type == "response"
    assert own_record(archive, other).payload == HTML


def test_changed_payload_is_not_a_revisit(archive: Archive) -> None:
    commit_one(archive, html_capture(URL, T0))
    changed = commit_one(archive, html_capture(URL, T0 + timedelta(1), body=HTML + b"\n"))
    assert changed.revisit_of is None
    assert own_record(archive, changed).payload == HTML + b"\n"


def test_truncated_and_empty_payloads_are_never_revisits(archive: Archive) -> None:
    commit_one(archive, html_capture(URL, T0))
    truncated = CaptureInput(
        url=URL, captured_at=T0 + timedelta(1), outcome="captured", final_url=URL,
        exchanges=[exchange(URL, T0 + timedelta(1), truncated="length")])
    assert commit_one(archive, truncated).revisit_of is None
    commit_one(archive, html_capture("https://example.com/empty", T0, body=b""))
    empty = commit_one(archive, html_capture("https://example.com/empty", T0 + timedelta(1),
                                             body=b""))
    assert empty.revisit_of is None
    assert retrieve.capture_payload(archive.warc_dir, empty) == b""


def test_revisit_found_after_reopening_the_archive(open_archive: OpenArchive) -> None:
    first_archive = open_archive()
    first = commit_one(first_archive, html_capture(URL, T0))
    first_archive.close()
    reopened = open_archive()
    second = commit_one(reopened, html_capture(URL, T0 + timedelta(days=1)))
    assert second.revisit_of == first.id
    assert second.warc_file != first.warc_file  # a new writer never appends to an old file
    assert retrieve.capture_payload(reopened.warc_dir, second) == HTML


def test_rotation_keeps_every_row_readable(open_archive: OpenArchive, warc_dir: Path) -> None:
    archive = open_archive(warc_max_bytes=2000)
    bodies = [HTML + b"<!-- %d -->" % i for i in range(6)]
    recs = archive.commit_captures([html_capture(f"https://example.com/{i}", T0, body=body)
                                    for i, body in enumerate(bodies)])
    archive.close()
    assert len(warc_files(warc_dir)) > 1
    for rec, body in zip(recs, bodies, strict=True):
        assert retrieve.capture_payload(warc_dir, rec) == body
    warcio_check(warc_dir.parent)


# -- extractions ------------------------------------------------------------------------------

def test_extraction_is_returned_by_queries(archive: Archive) -> None:
    rec = commit_one(archive, html_capture(URL, T0))
    archive.commit_extractions([extraction_for(rec, T0 + timedelta(seconds=2))])

    found = queries.closest_capture(archive.sessions, URL)
    assert found.id == rec.id
    assert found.extraction_status == "ok"
    assert found.text_sha256 == hashlib.sha256(TEXT.encode()).hexdigest()
    assert found.title == "Hello"
    assert found.published == "2024-04-30"
    assert found.text_file is not None and found.text_offset is not None
    text = retrieve.capture_text(archive.warc_dir, found)
    assert text["text"] == TEXT
    assert text["text_sha256"] == found.text_sha256
    assert text["title"] == "Hello"
    record = read_record_at(archive.warc_dir, found.text_file, found.text_offset)
    assert record.type == "metadata"
    assert record.headers["WARC-Refers-To"] == rec.warc_record_id
    assert check_record(record) == []


def test_extraction_without_text_writes_no_record(archive: Archive) -> None:
    rec = commit_one(archive, html_capture(URL, T0))
    archive.commit_extractions([extraction_for(rec, status="empty", text=None, title=None)])
    [found] = queries.snapshots(archive.sessions, URL)
    assert found.extraction_status == "empty"
    assert found.text_sha256 is None and found.text_file is None
    with pytest.raises(NoCaptureError):
        retrieve.capture_text(archive.warc_dir, found)
    assert queries.pending_extractions(archive.sessions) == []


def test_a_second_extraction_of_a_capture_is_ignored(archive: Archive) -> None:
    rec = commit_one(archive, html_capture(URL, T0))
    archive.commit_extractions([extraction_for(rec)])
    archive.commit_extractions([extraction_for(rec, text="other text", title="Other")])
    [found] = queries.snapshots(archive.sessions, URL)
    assert found.title == "Hello"
    assert retrieve.capture_text(archive.warc_dir, found)["text"] == TEXT


def test_revisit_of_an_extracted_capture_shares_the_extraction(archive: Archive) -> None:
    first = commit_one(archive, html_capture(URL, T0))
    archive.commit_extractions([extraction_for(first)])
    second = commit_one(archive, html_capture(URL, T0 + timedelta(days=1)))

    assert second.revisit_of == first.id
    assert second.extraction_status == "ok"
    assert second.text_sha256 == hashlib.sha256(TEXT.encode()).hexdigest()
    assert second.title == "Hello"
    [original] = queries.captures_by_ids(archive.sessions, [first.id])
    assert (second.text_file, second.text_offset) == (original.text_file, original.text_offset)
    assert retrieve.capture_text(archive.warc_dir, second)["text"] == TEXT
    assert queries.pending_extractions(archive.sessions) == []


def test_revisit_of_an_unextracted_capture_is_pending(archive: Archive) -> None:
    first = commit_one(archive, html_capture(URL, T0))
    second = commit_one(archive, html_capture(URL, T0 + timedelta(days=1)))
    assert second.revisit_of == first.id
    assert second.extraction_status is None
    # the payload is extracted once, for the original; the revisit shares its text
    assert [r.id for r in queries.pending_extractions(archive.sessions)] == [first.id]
    archive.commit_extractions([extraction_for(first)])
    [again] = queries.captures_by_ids(archive.sessions, [second.id])
    assert again.extraction_status == "ok" and again.title == "Hello"
    assert queries.pending_extractions(archive.sessions) == []


def test_pending_extractions_lists_html_and_pdf_captures_without_extraction(archive: Archive) -> None:
    html, xhtml, pdf, failed, done, plain = archive.commit_captures([
        html_capture("https://example.com/a", T0),
        html_capture("https://example.com/b", T0, body=b"<html>b</html>",
                     content_type="application/xhtml+xml"),
        html_capture("https://example.com/c.pdf", T0, body=b"%PDF-1.7",
                     content_type="application/pdf"),
        failed_capture("https://example.com/d", T0),
        html_capture("https://example.com/e", T0, body=b"<html>e</html>"),
        html_capture("https://example.com/f.txt", T0, body=b"f", content_type="text/plain"),
    ])
    archive.commit_extractions([extraction_for(done)])

    pending = queries.pending_extractions(archive.sessions)
    assert [r.id for r in pending] == [html.id, xhtml.id, pdf.id]
    assert all(r.extraction_status is None for r in pending)
    assert [r.id for r in queries.pending_extractions(archive.sessions, limit=1)] == [html.id]
    assert {failed.id, done.id, plain.id}.isdisjoint(r.id for r in pending)


def test_pending_extractions_matches_media_types_case_insensitively(archive: Archive) -> None:
    """Media types are case-insensitive (RFC 9110 8.3.1): the same rows on SQLite and PostgreSQL."""
    rec = commit_one(archive, html_capture(URL, T0, content_type="Text/HTML; charset=UTF-8"))
    assert [r.id for r in queries.pending_extractions(archive.sessions)] == [rec.id]


# -- the public surface -----------------------------------------------------------------------

def test_to_json_keeps_the_public_field_names(archive: Archive) -> None:
    rec = commit_one(archive, html_capture(URL, T0))
    data = rec.to_json()
    assert {"id", "url", "url_key", "captured_at", "outcome", "reason", "reason_detail",
            "http_status", "final_url", "redirect_chain", "content_type", "content_length",
            "sha256", "text_sha256", "title", "published", "extraction", "warc_file",
            "warc_offset", "warc_length", "revisit_of", "ignore_robots"} <= set(data)
    assert data["sha256"] == sha256_hex(HTML)
    assert json.loads(json.dumps(data)) == data


def test_opening_an_unusable_database_url_is_a_storage_error(warc_dir: Path) -> None:
    from storage.errors import StorageError

    with pytest.raises(StorageError):
        Archive.open("nosuchdialect://nowhere/db", warc_dir)


# -- compact records, batches, metadata records ------------------------------------------------
def test_same_payload_twice_in_one_batch_is_a_revisit_of_the_first(archive: Archive) -> None:
    first, second = archive.commit_captures([html_capture(URL, T0),
                                             html_capture(URL, T0 + timedelta(seconds=1))])
    assert first.revisit_of is None and second.revisit_of == first.id
    record = own_record(archive, second)
    assert record.type == "revisit"
    assert record.headers["WARC-Refers-To"] == first.warc_record_id
    assert record.headers["WARC-Refers-To-Date"] == own_record(archive, first).headers["WARC-Date"]
    assert retrieve.capture_payload(archive.warc_dir, second) == HTML


def test_a_plain_non_html_fetch_keeps_its_metadata_record(archive: Archive) -> None:
    pdf = commit_one(archive, html_capture(URL + ".pdf", body=b"%PDF-1.4 x",
                                           content_type="application/pdf"))
    html = commit_one(archive, html_capture(URL))
    assert [r["type"] for r in pdf.records] == ["response", "request", "metadata"]
    assert metadata_of(archive, pdf)["outcome"] == "captured"
    assert [r["type"] for r in html.records] == ["response", "request"]


def test_text_record_says_the_outcome(archive: Archive) -> None:
    capture = commit_one(archive, html_capture(URL))
    archive.commit_extractions([extraction_for(capture)])
    [again] = queries.captures_by_ids(archive.sessions, [capture.id])
    assert again.text_file is not None and again.text_offset is not None
    record = read_record_at(archive.warc_dir, again.text_file, again.text_offset)
    content = json.loads(record.payload)
    assert content["outcome"] == "captured" and content["text"] == TEXT
    assert record.headers["WARC-Refers-To"] == capture.warc_record_id


def test_every_record_of_a_row_has_its_id_file_and_uri(archive: Archive) -> None:
    rec = commit_one(archive, redirect_capture("http://example.com/old", URL, T0))
    uris = [r["uri"] for r in rec.records]
    assert uris[0] == "http://example.com/old" and uris[-2] == URL
    assert uris[-1] == "urn:collector:capture:" + URL  # the outcome record: about the page, not it
    for entry in rec.records:
        record = read_record_at(archive.warc_dir, entry["file"], entry["offset"])
        assert (record.headers["WARC-Record-ID"], record.headers["WARC-Target-URI"]) == (
            entry["id"], entry["uri"])


def test_rows_written_with_whole_record_dicts_still_resolve(archive: Archive) -> None:
    """Rows from before compact records listed each record as a dict; revisits still find them."""
    from sqlalchemy import update

    from storage.models import Capture

    first = commit_one(archive, html_capture(URL))
    with archive.sessions() as session, session.begin():
        session.execute(update(Capture).where(Capture.id == first.id).values(
            records=first.records, warc_record_id=None))
    second = commit_one(archive, html_capture(URL, T0 + timedelta(days=1)))
    assert second.revisit_of == first.id
    assert own_record(archive, second).headers["WARC-Refers-To"] == first.records[0]["id"]


def test_response_digests_are_computed_once_and_right(archive: Archive) -> None:
    capture = commit_one(archive, html_capture(URL))
    record = own_record(archive, capture)
    assert check_record(record) == []
    assert record.headers["WARC-Payload-Digest"] == payload_digest(HTML)[1]
    request = read_record_at(archive.warc_dir, capture.records[1]["file"],
                             capture.records[1]["offset"])
    assert "WARC-Payload-Digest" not in request.headers  # an empty body has nothing to digest
    assert check_record(request) == []


def test_returned_records_equal_the_rows_read_back(archive: Archive) -> None:
    first = commit_one(archive, html_capture(URL))
    archive.commit_extractions([extraction_for(first)])
    returned = archive.commit_captures([
        html_capture(URL, T0 + timedelta(days=1)),  # a revisit, sharing the text
        redirect_capture("http://example.com/old", URL + "/moved", T0),
        failed_capture("https://example.com/down", T0),
        html_capture(URL + ".pdf", body=b"%PDF-1.4", content_type="application/pdf"),
    ])
    assert returned == queries.captures_by_ids(archive.sessions, [r.id for r in returned])
    assert returned[0].revisit_of == first.id and returned[0].extraction_status == "ok"


def test_a_row_leaves_out_the_user_agent_its_warcinfo_names(open_archive: OpenArchive,
                                                            warc_dir: Path) -> None:
    from sqlalchemy import select
    from warcio.archiveiterator import ArchiveIterator

    from storage.models import Capture

    archive = open_archive(info={"http-header-user-agent": "collector-test"})
    runs = archive.commit_captures([html_capture(URL, T0, user_agent="collector-test"),
                                    html_capture(URL + "b", T0, user_agent="other/1.0")])
    with archive.sessions() as session:
        agents = {i: a for i, a in session.execute(select(Capture.id, Capture.user_agent))}
    assert agents == {runs[0].id: None, runs[1].id: "other/1.0"}
    # the run's User-Agent is in the warcinfo record the rows' records name (and in their requests)
    [path] = warc_dir.glob("*.warc.gz")
    with path.open("rb") as fh:
        infos, named = {}, set()
        for record in ArchiveIterator(fh):
            headers = record.rec_headers
            if record.rec_type == "warcinfo":
                infos[headers.get_header("WARC-Record-ID")] = record.content_stream().read()
            elif headers.get_header("WARC-Target-URI") == URL:
                named.add(headers.get_header("WARC-Warcinfo-ID"))
                if record.rec_type == "request":
                    assert record.http_headers.get_header("User-Agent") == "collector-test"
    [info] = [infos[n] for n in named]
    assert b"http-header-user-agent: collector-test" in info


def test_a_row_keeps_a_final_key_only_when_it_is_another_key(archive: Archive) -> None:
    from sqlalchemy import select

    from storage.models import Capture

    same, slash, moved = archive.commit_captures([
        html_capture(URL), redirect_capture(URL + "x", URL + "x/", T0),
        redirect_capture("http://example.com/old", URL, T0)])
    with archive.sessions() as session:
        keys = {i: k for i, k in session.execute(select(Capture.id, Capture.final_url_key))}
    assert keys == {same.id: None, slash.id: None, moved.id: url_key(URL)}
    # mementos as before: the redirected row's final response is one of URL (as its hop)
    assert [m.id for m in queries.mementos(archive.sessions, URL)] == [same.id, moved.id]
    assert [m.id for m in queries.mementos(archive.sessions, URL + "x")] == [slash.id]
