"""Getting archived bytes back (payload, headers, text, a capture's WARC) on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

from storage import retrieve
from storage.archive import Archive
from storage.errors import ArchiveCorruptError, ContentDecodeError, NoCaptureError
from storage.queries import captures_by_ids
from storage.records import CaptureRecord, ExtractionInput
from tests.storage.helpers import (
    HTML,
    T0,
    failed_capture,
    flip_byte_of,
    html_capture,
    redirect_capture,
    rewrite_member,
    warcio_check_files,
)

URL = "https://example.com/story"


def records_in(stream: bytes) -> list[tuple[str, str, bytes]]:
    """(WARC-Type, WARC-Record-ID, content) of every record, read with warcio (an independent reader)."""
    out = []
    for record in ArchiveIterator(io.BytesIO(stream)):
        out.append((record.rec_type, record.rec_headers.get_header("WARC-Record-ID"),
                    record.content_stream().read()))
    return out


def check_stream(tmp_path: Path, stream: bytes, name: str = "export.warc.gz") -> None:
    path = tmp_path / name
    path.write_bytes(stream)
    warcio_check_files(path)


def extract(archive: Archive, capture: CaptureRecord, text: str = "Hello, world.") -> CaptureRecord:
    archive.commit_extractions([ExtractionInput(
        capture_id=capture.id, url=capture.url, status="ok", text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest(), title="Hello", extracted_at=T0,
        refers_to=capture.warc_record_id)])
    [again] = captures_by_ids(archive.sessions, [capture.id])
    return again


def test_decode_content_gzip_deflate_and_limits() -> None:
    body = b"<p>hello</p>" * 100
    assert retrieve.decode_content(gzip.compress(body), "gzip", 10_000) == body
    assert retrieve.decode_content(zlib.compress(body), "deflate", 10_000) == body
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(body) + raw_deflate.flush()
    assert retrieve.decode_content(data, "deflate", 10_000) == body
    with pytest.raises(ContentDecodeError, match="exceeds"):
        retrieve.decode_content(gzip.compress(b"\0" * 100_000), "gzip", 1000)
    with pytest.raises(ContentDecodeError, match="unknown"):
        retrieve.decode_content(body, "snappy", 10_000)


def test_decode_content_reads_every_gzip_member() -> None:
    """A gzip body of several members (concatenated gzip files) decodes to all of them, as gzip -d does."""
    body = gzip.compress(b"<p>first member</p>") + gzip.compress(b"<p>second member</p>")
    assert retrieve.decode_content(body, "gzip", 10_000) == b"<p>first member</p><p>second member</p>"
    assert retrieve.decode_content(body + b"\0\0", "gzip", 10_000).endswith(b"second member</p>")
    many = b"".join(gzip.compress(b"\0" * 1000) for _ in range(20))  # the limit counts every member
    with pytest.raises(ContentDecodeError, match="exceeds"):
        retrieve.decode_content(many, "gzip", 5000)


def test_decode_content_refuses_corrupt_data_with_its_own_error() -> None:
    for coding in ("gzip", "deflate"):
        with pytest.raises(ContentDecodeError, match=f"bad {coding} data"):
            retrieve.decode_content(b"\x00not compressed at all", coding, 10_000)
    assert retrieve.decode_content(b"as is", "identity", 10) == b"as is"


def test_capture_warc_of_a_plain_capture(archive: Archive, tmp_path: Path) -> None:
    [capture] = archive.commit_captures([html_capture(URL, T0)])
    stream = retrieve.capture_warc(archive.warc_dir, capture)

    check_stream(tmp_path, stream)
    records = records_in(stream)
    assert [(t, i) for t, i, _ in records] == [(r["type"], r["id"]) for r in capture.records]
    assert records[0][2] == HTML


def test_capture_warc_of_a_revisit_includes_the_original_response(archive: Archive,
                                                                    tmp_path: Path) -> None:
    [original] = archive.commit_captures([html_capture(URL, T0)])
    [revisit] = archive.commit_captures([html_capture(URL, T0 + timedelta(days=1))])
    assert revisit.revisit_of == original.id

    stream = retrieve.capture_warc(archive.warc_dir, revisit)

    check_stream(tmp_path, stream)
    records = records_in(stream)
    assert [t for t, _, _ in records] == ["response", "revisit", "request"]
    _, response_id, payload = records[0]
    assert response_id == original.warc_record_id
    assert payload == HTML
    assert records[1][1] == revisit.warc_record_id


def test_capture_warc_includes_the_extracted_text_once(archive: Archive, tmp_path: Path) -> None:
    [original] = archive.commit_captures([html_capture(URL, T0)])
    original = extract(archive, original)
    [revisit] = archive.commit_captures([html_capture(URL, T0 + timedelta(days=1))])
    assert revisit.text_file == original.text_file

    for capture in (original, revisit):
        stream = retrieve.capture_warc(archive.warc_dir, capture)
        check_stream(tmp_path, stream, f"export-{capture.id}.warc.gz")
        records = records_in(stream)
        assert [t for t, _, _ in records].count("metadata") == 1  # the text (with the outcome)
        assert any(b'"extracted-text"' in content for _, _, content in records)


def test_capture_warc_of_a_redirect_and_of_a_failure(archive: Archive, tmp_path: Path) -> None:
    redirected, failed = archive.commit_captures([
        redirect_capture("http://example.com/old", URL, T0), failed_capture(URL, T0)])
    stream = retrieve.capture_warc(archive.warc_dir, redirected)
    check_stream(tmp_path, stream, "redirect.warc.gz")
    assert [t for t, _, _ in records_in(stream)] == [
        "response", "request", "response", "request", "metadata"]
    stream = retrieve.capture_warc(archive.warc_dir, failed)
    check_stream(tmp_path, stream, "failed.warc.gz")
    assert [t for t, _, _ in records_in(stream)] == ["metadata"]


def test_capture_text_says_why_there_is_none(archive: Archive) -> None:
    """"pending" only when an extraction is due: an image is never extracted, a failed fetch has no text."""
    image, failed, pdf = archive.commit_captures([
        html_capture(URL + "/a.png", T0, body=b"\x89PNG", content_type="image/png"),
        failed_capture(URL + "/b", T0),
        html_capture(URL + "/c.pdf", T0, body=b"%PDF-1.4 x", content_type="application/pdf")])
    with pytest.raises(NoCaptureError, match="image/png is not extracted") as info:
        retrieve.capture_text(archive.warc_dir, image)
    assert "pending" not in str(info.value)
    with pytest.raises(NoCaptureError, match="no payload") as info:
        retrieve.capture_text(archive.warc_dir, failed)
    assert "pending" not in str(info.value)
    with pytest.raises(NoCaptureError, match="pending"):  # a PDF's extraction is due
        retrieve.capture_text(archive.warc_dir, pdf)


def test_capture_text_and_headers(archive: Archive) -> None:
    [capture] = archive.commit_captures([html_capture(URL, T0)])
    with pytest.raises(NoCaptureError, match="pending"):
        retrieve.capture_text(archive.warc_dir, capture)
    capture = extract(archive, capture)
    text = retrieve.capture_text(archive.warc_dir, capture)
    assert (text["text"], text["title"], text["type"]) == ("Hello, world.", "Hello",
                                                           "extracted-text")
    head = retrieve.capture_headers(archive.warc_dir, capture)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert b"Content-Type: text/html; charset=utf-8\r\n" in head


def test_capture_payload_without_check_returns_damaged_bytes(archive: Archive) -> None:
    [capture] = archive.commit_captures([html_capture(URL, T0)])
    archive.writer.close()
    assert capture.warc_file is not None and capture.warc_offset is not None
    rewrite_member(archive.warc_dir / capture.warc_file, capture.warc_offset, flip_byte_of(HTML))
    with pytest.raises(ArchiveCorruptError, match="sha256"):
        retrieve.capture_payload(archive.warc_dir, capture)
    damaged = retrieve.capture_payload(archive.warc_dir, capture, check=False)
    assert len(damaged) == len(HTML) and damaged != HTML


def test_capture_warc_of_a_missing_file_is_an_archive_error(archive: Archive) -> None:
    """The CLI turns StorageError into a message; a bare FileNotFoundError would be a traceback."""
    [capture] = archive.commit_captures([html_capture(URL, T0)])
    archive.writer.close()
    assert capture.warc_file is not None
    (archive.warc_dir / capture.warc_file).unlink()
    with pytest.raises(ArchiveCorruptError):
        retrieve.capture_warc(archive.warc_dir, capture)


def test_capture_warc_of_a_truncated_record_is_an_archive_error(archive: Archive) -> None:
    """A short read must not be handed out as if it were the capture's WARC."""
    [capture] = archive.commit_captures([html_capture(URL, T0)])
    archive.writer.close()
    assert capture.warc_file is not None and capture.warc_offset is not None
    with open(archive.warc_dir / capture.warc_file, "r+b") as fh:
        fh.truncate(capture.warc_offset + (capture.warc_length or 0) // 2)
    with pytest.raises(ArchiveCorruptError):
        retrieve.capture_warc(archive.warc_dir, capture)


@pytest.mark.parametrize(("content_type", "charset"), [
    ("text/html; charset=UTF-8", "utf-8"), ('text/html; charset="KOI8-R"', "koi8-r"),
    ("text/html;charset=iso-8859-1;q=1", "iso-8859-1"), ("text/html; charset*=utf-8''koi8-r", "koi8-r"),
    ("text/html", None), ("", None), (None, None), ('text/html; charset="é"', None)])
def test_the_charset_a_content_type_names(content_type: str | None, charset: str | None) -> None:
    assert retrieve.content_charset(content_type) == charset
