"""verify_archive on SQLite and PostgreSQL: intact archives pass; damaged WARC files are reported."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from storage import retrieve
from storage.archive import Archive
from storage.errors import ArchiveCorruptError
from storage.queries import snapshots
from storage.records import CaptureRecord, ExtractionInput
from storage.verify import VerifyReport, verify_archive
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import (
    HTML,
    T0,
    failed_capture,
    flip_byte_of,
    html_capture,
    member_at,
    redirect_capture,
    rewrite_member,
    warc_files,
)

FIRST_BODY = HTML.replace(b"Hello, world.", b"The first page.")
SECOND_BODY = HTML.replace(b"Hello, world.", b"The second page.")


def verify(archive: Archive) -> VerifyReport:
    return verify_archive(archive.sessions, archive.warc_dir)


def two_captures(archive: Archive) -> tuple[CaptureRecord, CaptureRecord, Path]:
    """Two captures written one after the other into one WARC file, which is then closed."""
    first, second = archive.commit_captures([
        html_capture("https://example.com/first", T0, body=FIRST_BODY),
        html_capture("https://example.com/second", T0, body=SECOND_BODY),
    ])
    archive.writer.close()  # no open file handle while the test edits the file
    assert first.warc_file == second.warc_file
    return first, second, archive.warc_dir / first.warc_file  # type: ignore[operator]


def problems_of(report: VerifyReport, capture: CaptureRecord) -> list[dict[str, object]]:
    return [p for p in report.problems if p["capture_id"] == capture.id]


# -- intact -----------------------------------------------------------------------------------

def test_intact_archive_is_ok(archive: Archive) -> None:
    plain, _failed, _redirected = archive.commit_captures([
        html_capture("https://example.com/a", T0),
        failed_capture("https://example.com/b", T0),
        redirect_capture("http://example.com/old", "https://example.com/new", T0),
    ])
    archive.commit_extractions([ExtractionInput(
        capture_id=plain.id, url=plain.url, status="ok", text="Hello, world.",
        text_sha256=hashlib.sha256(b"Hello, world.").hexdigest(), title="Hello",
        extracted_at=T0)])
    [revisit] = archive.commit_captures([html_capture("https://example.com/a", T0 + timedelta(1))])
    assert revisit.revisit_of == plain.id and revisit.text_file is not None
    seen: list[int] = []

    report = verify_archive(archive.sessions, archive.warc_dir, progress=seen.append)

    assert report.ok, report.problems
    assert report.problems == [] and report.warnings == []
    assert report.captures_checked == 4
    # plain 2 + its text 1 + failed 1 + redirect 5 + revisit 2 (the copied text is counted once);
    # a plain HTML fetch has no metadata record of its own (its text record says the outcome)
    assert report.records_checked == 11
    assert report.files_scanned == 1
    assert seen == [1, 1, 1, 1]
    assert report.to_json()["ok"] is True


def test_empty_archive_is_ok(archive: Archive) -> None:
    report = verify(archive)
    assert report.ok
    assert (report.records_checked, report.captures_checked, report.files_scanned) == (0, 0, 0)


def test_intact_rotated_archive_is_ok(open_archive: OpenArchive) -> None:
    archive = open_archive(warc_max_bytes=1500)
    archive.commit_captures([html_capture(f"https://example.com/{i}", T0 + timedelta(i),
                                          body=HTML + bytes([65 + i])) for i in range(5)])
    archive.commit_captures([html_capture("https://example.com/0", T0 + timedelta(30),
                                          body=HTML + b"A")])  # a revisit, in a later file
    archive.writer.close()
    report = verify(archive)
    assert report.ok, report.problems
    assert report.files_scanned == len(warc_files(archive.warc_dir)) > 1
    assert report.records_checked == 6 * 2  # response or revisit, and request


# -- a flipped byte ---------------------------------------------------------------------------

def test_flipped_payload_byte_is_a_digest_and_sha256_mismatch(archive: Archive) -> None:
    first, second, path = two_captures(archive)
    old_length, new_length = rewrite_member(path, first.warc_offset or 0, flip_byte_of(FIRST_BODY))
    assert new_length != old_length  # the records after it moved

    report = verify(archive)

    assert not report.ok
    mine = problems_of(report, first)
    at_payload = {p["kind"] for p in mine if p["offset"] == first.warc_offset}
    assert {"block-digest-mismatch", "payload-digest-mismatch", "sha256-mismatch"} <= at_payload
    assert all(p["url"] == first.url and p["warc_file"] == first.warc_file for p in mine)
    # the records that moved are reported too: the rows no longer point at record boundaries
    assert problems_of(report, second)
    assert {p["kind"] for p in problems_of(report, second)} == {"unreadable-record"}
    assert report.warnings == []  # the file itself still reads from start to end
    with pytest.raises(ArchiveCorruptError):
        retrieve.capture_payload(archive.warc_dir, first)


def test_flipped_byte_recompressed_to_the_same_size(archive: Archive) -> None:
    first, second, path = two_captures(archive)
    old_length, new_length = rewrite_member(path, first.warc_offset or 0,
                                            flip_byte_of(FIRST_BODY), compresslevel=9)
    if new_length != old_length:
        pytest.skip("this zlib did not recompress to the same size")

    report = verify(archive)

    assert {p["kind"] for p in report.problems} == {
        "block-digest-mismatch", "payload-digest-mismatch", "sha256-mismatch"}
    assert {p["capture_id"] for p in report.problems} == {first.id}
    assert problems_of(report, second) == []


def test_flipped_byte_in_extracted_text_is_reported(archive: Archive) -> None:
    [capture] = archive.commit_captures([html_capture("https://example.com/a", T0)])
    archive.commit_extractions([ExtractionInput(
        capture_id=capture.id, url=capture.url, status="ok", text="Unmistakable text",
        text_sha256=hashlib.sha256(b"Unmistakable text").hexdigest(), extracted_at=T0)])
    archive.writer.close()
    [capture] = snapshots(archive.sessions, capture.url)
    assert capture.text_file is not None and capture.text_offset is not None
    rewrite_member(archive.warc_dir / capture.text_file, capture.text_offset,
                   flip_byte_of(b"Unmistakable"))

    report = verify(archive)

    assert not report.ok
    found = [p for p in report.problems if p["offset"] == capture.text_offset]
    assert "block-digest-mismatch" in {p["kind"] for p in found}
    assert all(p["record_type"] == "metadata" and p["capture_id"] == capture.id for p in found)


# -- missing and torn data --------------------------------------------------------------------

def test_deleted_warc_file_is_a_missing_file_problem(archive: Archive) -> None:
    first, second, path = two_captures(archive)
    path.unlink()

    report = verify(archive)

    assert not report.ok
    assert {p["kind"] for p in report.problems} == {"missing-file"}
    assert {p["capture_id"] for p in report.problems} == {first.id, second.id}
    assert all(p["warc_file"] == path.name for p in report.problems)
    assert report.records_checked == 4
    assert report.files_scanned == 0


def test_torn_tail_no_row_points_to_is_only_a_warning(archive: Archive) -> None:
    first, _, path = two_captures(archive)
    member, length = member_at(path, first.warc_offset or 0)
    assert member
    whole = path.read_bytes()
    torn = whole[first.warc_offset or 0:(first.warc_offset or 0) + length // 2]
    with open(path, "ab") as fh:
        fh.write(torn)  # a crash in the middle of writing a record

    report = verify(archive)

    assert report.ok, report.problems
    assert report.problems == []
    [warning] = report.warnings
    assert warning["kind"] == "torn-tail"
    assert warning["warc_file"] == path.name
    assert str(len(whole)) in str(warning["detail"])  # names the offset where the tear starts


def test_truncated_record_a_row_points_to_is_a_problem(archive: Archive) -> None:
    first, second, path = two_captures(archive)
    cut = (second.warc_offset or 0) + (second.warc_length or 0) // 2
    with open(path, "r+b") as fh:
        fh.truncate(cut)

    report = verify(archive)

    assert not report.ok
    assert problems_of(report, first) == []
    mine = problems_of(report, second)
    assert {p["kind"] for p in mine} == {"unreadable-record"}
    assert second.warc_offset in {p["offset"] for p in mine}
    assert any("torn" in str(p["detail"]) for p in mine)
    assert [w["kind"] for w in report.warnings] == ["torn-tail"]
    with pytest.raises(ArchiveCorruptError):
        retrieve.capture_payload(archive.warc_dir, second)
