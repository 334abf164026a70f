"""A URL's timeline, the pair of captures a diff compares, and their texts, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.archive import Archive
from storage.checks import add_checks
from storage.errors import ContentDecodeError, NoCaptureError
from storage.queries import captures_by_ids
from storage.records import CaptureInput, CaptureRecord, CheckRecord, ExtractionInput
from storage.retrieve import archived_response
from storage.timefmt import iso_z
from storage.timeline import capture_pair, text_pair, timeline
from tests.storage.helpers import HTML, T0, exchange, failed_capture, html_capture

URL = "https://example.com/story"
HOUR = timedelta(hours=1)


def extracted(archive: Archive, capture: CaptureRecord, text: str) -> CaptureRecord:
    archive.commit_extractions([ExtractionInput(
        capture_id=capture.id, url=capture.url, status="ok", text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest(), extracted_at=T0,
        refers_to=capture.warc_record_id)])
    return captures_by_ids(archive.sessions, [capture.id])[0]


def test_timeline_marks_changes_against_the_previous_successful_capture(archive: Archive) -> None:
    first, failed, same, changed = archive.commit_captures([
        html_capture(URL, T0), failed_capture(URL, T0 + HOUR), html_capture(URL, T0 + 2 * HOUR),
        html_capture(URL, T0 + 3 * HOUR, body=HTML.replace(b"world", b"moon"))])
    for capture, text in ((first, "Hello, world."), (same, "Hello, world."), (changed, "Hello, moon.")):
        extracted(archive, capture, text)
    add_checks(archive.sessions, [CheckRecord(url=URL, checked_at=T0 + 2 * HOUR, capture_id=same.id,
                                              baseline_id=first.id, status="unchanged")])

    found = timeline(archive.sessions, "https://EXAMPLE.com/story")

    assert [c.capture.id for c in found.captures] == [first.id, failed.id, same.id, changed.id]
    assert [(c.text_changed, c.payload_changed) for c in found.captures] == [
        (False, False), (False, False), (False, False), (True, True)]
    events = found.events()
    assert [type(e).__name__ for e in events] == ["CaptureRecord"] * 3 + ["CheckRecord", "CaptureRecord"]
    assert events[3].to_json()["checked_at"] == iso_z(T0 + 2 * HOUR)


def test_timeline_of_an_unknown_url_is_not_found(archive: Archive) -> None:
    with pytest.raises(NoCaptureError, match=re.escape("nothing archived for https://example.com/none")):
        timeline(archive.sessions, "https://example.com/none")


def test_capture_pair_defaults_to_first_and_latest_success(archive: Archive) -> None:
    first, _, middle, last = archive.commit_captures([
        html_capture(URL, T0), failed_capture(URL, T0 + HOUR), html_capture(URL, T0 + 2 * HOUR),
        html_capture(URL, T0 + 3 * HOUR)])

    assert capture_pair(archive.sessions, URL) == (first, last)
    assert capture_pair(archive.sessions, URL, since=T0 + 2 * HOUR, until=T0 + 2 * HOUR) == (middle, middle)
    missing = re.escape("no capture of https://example.com/none in the archive")
    with pytest.raises(NoCaptureError, match=missing):
        capture_pair(archive.sessions, "https://example.com/none")


def test_text_pair_reads_main_texts_or_decoded_payloads(archive: Archive) -> None:
    old, new = archive.commit_captures([
        html_capture(URL, T0),
        CaptureInput(
            url=URL, captured_at=T0 + HOUR, outcome="captured", final_url=URL,
            exchanges=[exchange(URL, T0 + HOUR, body=gzip.compress(HTML.replace(b"world", b"moon")),
                                headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")])],
            redirect_chain=[{"url": URL, "status": 200}])])
    old, new = extracted(archive, old, "Hello, world."), extracted(archive, new, "Hello, moon.")

    texts = text_pair(archive.warc_dir, old, new)
    assert (texts.old_text, texts.new_text) == ("Hello, world.", "Hello, moon.")
    raw = text_pair(archive.warc_dir, old, new, raw_max_bytes=10_000)
    assert raw.new_text == HTML.replace(b"world", b"moon").decode()

    response = archived_response(archive.warc_dir, new)
    assert response.content_encoding == "gzip" and response.payload.startswith(b"\x1f\x8b")
    too_long = re.escape(f"cannot decode the archived payload of {URL}: decoded body exceeds 10 bytes")
    with pytest.raises(ContentDecodeError, match=too_long):
        response.decoded(10)


def test_iso_z_spells_every_time_in_utc_with_z() -> None:
    moment = datetime(2025, 6, 3, 10, 0, 0, 123456, tzinfo=UTC)
    assert iso_z(moment) == "2025-06-03T10:00:00.123456Z"
    assert iso_z(moment.replace(microsecond=0)) == "2025-06-03T10:00:00Z"
    assert iso_z(moment, timespec="seconds") == "2025-06-03T10:00:00Z"
    assert iso_z(moment.astimezone(ZoneInfo("Europe/Rome"))) == iso_z(moment)
    assert iso_z(None) is None
