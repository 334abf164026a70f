"""WarcFileWriter: deterministic bytes, rotation, locations that read back, sha256 digests, revisits."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.archive import payload_digest
from storage.errors import ArchiveCorruptError
from storage.records import RecordLocation
from storage.warcfile import WarcFileWriter, warc_date
from storage.warcread import check_record, read_record_at, scan_file
from tests.storage.helpers import (
    HTML,
    T0,
    FixedClock,
    SequentialIds,
    exchange,
    warc_files,
    warcio_check_files,
)

URL = "https://example.com/article?id=7"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


def make_writer(directory: Path, *, max_bytes: int = 1024**3) -> WarcFileWriter:
    return WarcFileWriter(directory, max_bytes=max_bytes, clock=FixedClock(), record_id=SequentialIds())


def write_sample(writer: WarcFileWriter) -> list[RecordLocation]:
    """A response + request, a metadata record, a revisit + request, a request without response."""
    response, request = writer.write_exchange(exchange(URL, T0))
    assert response is not None
    meta = writer.write_metadata(URL, {"note": "sample", "n": 1}, moment=T0,
                                 refers_to=response.record_id)
    _, label = payload_digest(HTML)
    revisit, request2 = writer.write_exchange(
        exchange(URL, T0 + timedelta(days=1)), revisit_of=response,
        revisit_date=warc_date(T0), payload_digest=label)
    assert revisit is not None
    none, request3 = writer.write_exchange(exchange("https://down.example/", T0, status=None))
    assert none is None
    writer.close()
    return [response, request, meta, revisit, request2, request3]


def sha256_label(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


# -- determinism ------------------------------------------------------------------------------

def test_identical_input_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    locations_one = write_sample(make_writer(first))
    locations_two = write_sample(make_writer(second))

    files_one, files_two = warc_files(first), warc_files(second)
    assert [p.name for p in files_one] == [p.name for p in files_two]
    assert len(files_one) == 1
    assert files_one[0].read_bytes() == files_two[0].read_bytes()
    assert locations_one == locations_two


def test_another_record_id_changes_the_bytes(tmp_path: Path) -> None:
    """The comparison above is meaningful: the id seam really reaches the file."""
    write_sample(make_writer(tmp_path / "one"))
    other = WarcFileWriter(tmp_path / "two", clock=FixedClock(), record_id=SequentialIds(namespace=9))
    write_sample(other)
    assert warc_files(tmp_path / "one")[0].read_bytes() != warc_files(tmp_path / "two")[0].read_bytes()


def test_dates_and_ids_come_from_the_seams(tmp_path: Path) -> None:
    ids = SequentialIds()
    writer = WarcFileWriter(tmp_path, clock=FixedClock(datetime(2030, 1, 2, 3, 4, 5, 678901,
                                                                tzinfo=UTC)), record_id=ids)
    response, _ = writer.write_exchange(exchange(URL, T0))
    writer.close()
    assert response is not None
    records = list(scan_file(warc_files(tmp_path)[0]))
    info = records[0]
    assert not isinstance(info, ArchiveCorruptError)
    assert info.type == "warcinfo"
    assert info.headers["WARC-Date"] == "2030-01-02T03:04:05.678901Z"
    assert info.headers["WARC-Record-ID"] == "<urn:uuid:00000000-0000-4000-8000-000000000000>"
    assert response.record_id == "<urn:uuid:00000000-0000-4000-8000-000000000001>"
    # records are dated by their exchange, not by the clock
    assert read_record_at(tmp_path, response.warc_file, response.offset).headers["WARC-Date"] == \
        "2024-05-01T12:00:00.250000Z"
    assert warc_files(tmp_path)[0].name.startswith("collector-20300102030405678901-")


def test_warc_date_is_utc_with_microseconds() -> None:
    from datetime import timezone

    plus_two = timezone(timedelta(hours=2))
    assert warc_date(datetime(2024, 5, 1, 14, 0, 0, 1, tzinfo=plus_two)) == \
        "2024-05-01T12:00:00.000001Z"


# -- files ------------------------------------------------------------------------------------

def test_every_writer_starts_its_own_file(tmp_path: Path) -> None:
    """A second writer (same clock, same process) never appends to the first one's file."""
    write_sample(make_writer(tmp_path))
    first = warc_files(tmp_path)
    before = first[0].read_bytes()
    write_sample(make_writer(tmp_path))
    files = warc_files(tmp_path)
    assert len(files) == 2
    assert first[0].read_bytes() == before
    for path in files:
        head = next(iter(scan_file(path)))
        assert not isinstance(head, ArchiveCorruptError)
        assert head.type == "warcinfo"
        assert head.headers["WARC-Filename"] == path.name


def test_rotation_starts_new_files_each_with_its_own_warcinfo(tmp_path: Path) -> None:
    max_bytes = 1500
    writer = make_writer(tmp_path, max_bytes=max_bytes)
    bodies = [HTML + b"<!-- %d -->" % i for i in range(8)]
    locations = []
    for i, body in enumerate(bodies):
        response, request = writer.write_exchange(
            exchange(f"https://example.com/{i}", T0 + timedelta(seconds=i), body=body))
        assert response is not None
        locations.append((response, request, body))
    writer.close()

    files = warc_files(tmp_path)
    assert len(files) > 1
    for path in files:
        records = list(scan_file(path))
        assert all(not isinstance(r, ArchiveCorruptError) for r in records)
        assert records[0].type == "warcinfo"  # type: ignore[union-attr]
        assert records[0].headers["WARC-Filename"] == path.name  # type: ignore[union-attr]
        assert [r.type for r in records].count("warcinfo") == 1  # type: ignore[union-attr]
        # a file is only rotated once it has reached max_bytes: every record starts below it
        assert all(r.offset < max_bytes for r in records)  # type: ignore[union-attr]
    for response, request, body in locations:
        assert read_record_at(tmp_path, response.warc_file, response.offset).payload == body
        assert read_record_at(tmp_path, request.warc_file, request.offset).type == "request"
    warcio_check_files(*files)


# -- reading back -----------------------------------------------------------------------------

def test_each_location_reads_back_the_exact_record(tmp_path: Path) -> None:
    locations = write_sample(make_writer(tmp_path))
    for loc in locations:
        record = read_record_at(tmp_path, loc.warc_file, loc.offset)
        assert record.headers["WARC-Record-ID"] == loc.record_id
        assert record.type == loc.record_type
        assert record.headers.get("WARC-Target-URI", "") == loc.target_uri
        assert record.length == loc.length
        assert check_record(record) == []
    response, _, meta, revisit, _, request3 = locations
    assert read_record_at(tmp_path, response.warc_file, response.offset).payload == HTML
    assert read_record_at(tmp_path, revisit.warc_file, revisit.offset).payload == b""
    assert json.loads(read_record_at(tmp_path, meta.warc_file, meta.offset).payload) == \
        {"note": "sample", "n": 1}
    assert request3.target_uri == "https://down.example/"


def test_locations_tile_the_file_after_the_warcinfo(tmp_path: Path) -> None:
    locations = write_sample(make_writer(tmp_path))
    path = warc_files(tmp_path)[0]
    for before, after in itertools.pairwise(locations):
        assert before.offset + before.length == after.offset
    assert locations[-1].offset + locations[-1].length == path.stat().st_size


def test_read_record_at_refuses_names_outside_the_directory(tmp_path: Path) -> None:
    (tmp_path / "warcs").mkdir()
    with pytest.raises(ArchiveCorruptError, match="outside"):
        read_record_at(tmp_path / "warcs", "../secret.warc.gz", 0)


def test_read_record_at_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveCorruptError, match="missing"):
        read_record_at(tmp_path, "nope.warc.gz", 0)


# -- digests ----------------------------------------------------------------------------------

def test_digests_are_sha256_and_pass_warcio_check(tmp_path: Path) -> None:
    locations = write_sample(make_writer(tmp_path))
    for loc in locations:
        record = read_record_at(tmp_path, loc.warc_file, loc.offset)
        assert record.headers["WARC-Block-Digest"] == sha256_label(record.block)
        if loc.record_type == "response" or (loc.record_type == "request" and record.payload):
            assert record.headers["WARC-Payload-Digest"] == sha256_label(record.payload)
        elif loc.record_type == "request":  # a GET's empty body gets no payload digest
            assert "WARC-Payload-Digest" not in record.headers
    response = read_record_at(tmp_path, locations[0].warc_file, locations[0].offset)
    assert response.headers["WARC-Payload-Digest"] == payload_digest(HTML)[1]
    warcio_check_files(*warc_files(tmp_path))


def test_response_record_holds_status_headers_and_raw_body(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    body = b"hello"  # de-chunked, as Twisted hands it over
    ex = exchange(URL, T0, status=404, body=body,
                  headers=[("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")],
                  ip_address="192.0.2.7", truncated="length")
    response, request = writer.write_exchange(ex)
    writer.close()
    assert response is not None
    record = read_record_at(tmp_path, response.warc_file, response.offset)
    assert record.http_status == 404
    assert record.http_head is not None and record.http_head.startswith(b"HTTP/1.1 404 Not Found")
    assert ("X-Archive-Orig-Transfer-Encoding", "chunked") in record.http_headers
    assert "Transfer-Encoding" not in dict(record.http_headers)
    assert record.payload == b"hello"
    assert record.headers["WARC-IP-Address"] == "192.0.2.7"
    assert record.headers["WARC-Truncated"] == "length"
    req = read_record_at(tmp_path, request.warc_file, request.offset)
    assert req.headers["WARC-Concurrent-To"] == response.record_id
    assert req.block.startswith(b"GET /article?id=7 HTTP/1.1\r\n")
    warcio_check_files(*warc_files(tmp_path))


def test_request_without_response_has_no_concurrent_to(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    response, request = writer.write_exchange(exchange("https://down.example/x", T0, status=None))
    writer.close()
    assert response is None
    record = read_record_at(tmp_path, request.warc_file, request.offset)
    assert record.type == "request"
    assert "WARC-Concurrent-To" not in record.headers


# -- revisits ---------------------------------------------------------------------------------

def test_revisit_record_refers_to_the_original(tmp_path: Path) -> None:
    locations = write_sample(make_writer(tmp_path))
    original, revisit = locations[0], locations[3]
    record = read_record_at(tmp_path, revisit.warc_file, revisit.offset)
    referred = read_record_at(tmp_path, original.warc_file, original.offset)

    assert record.type == "revisit"
    assert record.headers["WARC-Refers-To"] == original.record_id
    assert record.headers["WARC-Refers-To-Target-URI"] == referred.headers["WARC-Target-URI"]
    assert record.headers["WARC-Refers-To-Date"] == referred.headers["WARC-Date"]
    assert record.headers["WARC-Profile"] == REVISIT_PROFILE
    assert record.headers["WARC-Payload-Digest"] == referred.headers["WARC-Payload-Digest"]
    assert record.http_status == 200  # the revisit keeps its own HTTP headers, not the payload
    assert record.payload == b""
    assert check_record(record) == []


# -- compression and buffered writes -----------------------------------------------------------

@pytest.mark.parametrize("level", [1, 3, 4, 9])
def test_every_gzip_level_writes_records_warcio_reads(tmp_path: Path, level: int) -> None:
    """Levels 1-3 go through ISA-L, 4-9 through zlib: the same standard gzip member per record."""
    import gzip

    writer = WarcFileWriter(tmp_path, clock=FixedClock(), record_id=SequentialIds(), gzip_level=level)
    body = HTML * 50  # several of warcio's 16 KiB pieces
    response, _ = writer.write_exchange(exchange(URL, T0, body=body))
    writer.close()
    assert response is not None
    record = read_record_at(tmp_path, response.warc_file, response.offset)
    assert record.payload == body
    raw = (tmp_path / response.warc_file).read_bytes()[response.offset:
                                                       response.offset + response.length]
    assert b"\r\n\r\n" + body in gzip.decompress(raw)  # one complete member, nothing after it
    warcio_check_files(*warc_files(tmp_path))


def test_records_reach_the_file_at_sync_not_later(tmp_path: Path) -> None:
    """Writes are gathered in memory; sync writes them out (and fsyncs) before returning."""
    writer = make_writer(tmp_path)
    response, request = writer.write_exchange(exchange(URL, T0))
    assert response is not None
    path = tmp_path / response.warc_file
    writer.sync()
    assert path.stat().st_size == request.offset + request.length
    assert read_record_at(tmp_path, response.warc_file, response.offset).payload == HTML
    writer.close()


def test_warc_date_is_warcios() -> None:
    """The same text as warcio's datetime_to_iso_date of the UTC time (microseconds only when
    there are some)."""
    from datetime import timezone

    from warcio.timeutils import datetime_to_iso_date

    zones = [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
    for moment in [datetime(2024, 5, 1, 12, 0, 0, micro, tzinfo=zone)
                   for micro in (0, 1, 250_000, 999_999) for zone in zones]:
        expected = datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True)
        assert warc_date(moment) == expected


def test_new_record_ids_are_random_uuids() -> None:
    import uuid

    from storage.warcfile import new_record_id, short_record_id

    ids = [new_record_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for record_id in ids:
        value = uuid.UUID(short_record_id(record_id))
        assert (value.version, value.variant) == (4, uuid.RFC_4122)
        assert record_id == f"<urn:uuid:{value}>"
