"""Records built in one pass (storage.warcrecord) are the records warcio wrote before issue 18.

``WarcioReference`` is collector's WARC writing as it was (warcio's record objects and writer, sha256
digests): the same exchanges and documents, with the same record ids and dates, go through it and
through ``WarcFileWriter``; every record must come out byte for byte the same once decompressed, at
the location the writer reports, and pass warcio's digest checks.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from storage.records import Exchange, RecordLocation
from storage.warcfile import WarcFileWriter, _Sha256Writer, digest_label, warc_date
from storage.warcrecord import http_head, label_digest, status_line
from tests.storage.helpers import HTML, T0, FixedClock, SequentialIds, warc_files, warcio_check_files

# -- the reference: collector's warcio path as it was ------------------------------------------------


class WarcioReference:
    """The uncompressed records warcio wrote for collector (the code of ``storage.warcfile`` before
    issue 18), each with its WARC headers."""

    def __init__(self, record_id: Callable[[], str], warcinfo_id: str) -> None:
        self.record_id = record_id
        self.warcinfo_id = warcinfo_id
        self.writer = _Sha256Writer(io.BytesIO(), gzip=False, warc_version="1.1")
        self.records: list[tuple[bytes, StatusAndHeaders]] = []

    def _headers(self, uri: str, moment: datetime, **extra: str | None) -> dict[str, str]:
        headers = {"WARC-Record-ID": self.record_id(), "WARC-Date": warc_date(moment)}
        if self.warcinfo_id:
            headers["WARC-Warcinfo-ID"] = self.warcinfo_id
        if uri:
            headers["WARC-Target-URI"] = uri
        headers.update({k: v for k, v in extra.items() if v})
        return headers

    def _write(self, record: Any) -> str:
        out = io.BytesIO()
        self.writer._write_warc_record(out, record)
        self.records.append((out.getvalue(), record.rec_headers))
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def exchange(self, exchange: Exchange, *, revisit_of: RecordLocation | None = None,
                 revisit_date: str | None = None, payload_digest: str | None = None) -> None:
        writer, moment, response_id = self.writer, exchange.requested_at, None
        if exchange.status is not None:
            headers = [("X-Archive-Orig-Transfer-Encoding", v) if n.lower() == "transfer-encoding"
                       else (n, v) for n, v in exchange.response_headers]
            http = StatusAndHeaders(status_line(exchange.status, exchange.reason_phrase), headers,
                                    protocol=exchange.protocol or "HTTP/1.1")
            extra = {"WARC-IP-Address": exchange.ip_address, "WARC-Truncated": exchange.truncated}
            if revisit_of is not None:
                assert payload_digest and revisit_date
                record = writer.create_revisit_record(
                    exchange.url, payload_digest, revisit_of.target_uri, revisit_date,
                    http_headers=http, warc_headers_dict=self._headers(
                        exchange.url, moment, **{"WARC-Refers-To": revisit_of.record_id}, **extra))
            else:
                http.compute_headers_buffer(writer.header_filter)
                block = hashlib.sha256(http.headers_buff)
                block.update(exchange.body)
                payload = payload_digest or digest_label(hashlib.sha256(exchange.body).digest())
                record = writer.create_warc_record(
                    exchange.url, "response", payload=io.BytesIO(exchange.body),
                    length=len(exchange.body), http_headers=http,
                    warc_headers_dict=self._headers(
                        exchange.url, moment, **extra,
                        **{"WARC-Payload-Digest": payload,
                           "WARC-Block-Digest": digest_label(block.digest())}))
            response_id = self._write(record)
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        req_http = StatusAndHeaders(f"{exchange.method} {target} HTTP/1.1", exchange.request_headers,
                                    is_http_request=True)
        self._write(writer.create_warc_record(
            exchange.url, "request", payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body), http_headers=req_http,
            warc_headers_dict=self._headers(exchange.url, moment,
                                            **{"WARC-Concurrent-To": response_id})))

    def resource(self, uri: str, body: bytes, *, content_type: str, moment: datetime,
                 concurrent_to: str | None = None) -> None:
        headers = self._headers(uri, moment, **{"WARC-Concurrent-To": concurrent_to})
        headers["Content-Type"] = content_type
        self._write(self.writer.create_warc_record(
            uri, "resource", payload=io.BytesIO(body), length=len(body),
            warc_content_type=content_type, warc_headers_dict=headers))

    def resource_stream(self, uri: str, body: bytes, *, content_type: str, moment: datetime,
                        payload_digest: str | None = None) -> None:
        headers = self._headers(uri, moment, **{"WARC-Payload-Digest": payload_digest})
        headers["Content-Type"] = content_type
        self._write(self.writer.create_warc_record(
            uri, "resource", payload=io.BytesIO(body), length=len(body),
            warc_content_type=content_type, warc_headers_dict=headers))

    def metadata(self, uri: str, content: dict[str, Any], *, moment: datetime,
                 refers_to: str | None = None, concurrent_to: str | None = None) -> None:
        body = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = self._headers(uri, moment, **{"WARC-Refers-To": refers_to,
                                                "WARC-Concurrent-To": concurrent_to})
        headers["Content-Type"] = "application/json"
        self._write(self.writer.create_warc_record(
            uri, "metadata", payload=io.BytesIO(body), length=len(body),
            warc_content_type="application/json", warc_headers_dict=headers))


# -- the same writes through both --------------------------------------------------------------------

URL = "https://example.com/article?id=7"
LATIN1 = "caf\u00e9 cr\u00e8me".encode().decode("latin-1")  # UTF-8 bytes read as latin-1 (as Scrapy's)


def ex(url: str, **fields: Any) -> Exchange:
    base: dict[str, Any] = {
        "url": url, "requested_at": T0, "status": 200,
        "request_headers": [("Host", url.split("/")[2]), ("User-Agent", "collector-test"),
                            ("Accept", "text/html,*/*;q=0.8")],
        "response_headers": [("Content-Type", "text/html; charset=utf-8"),
                             ("Content-Length", str(len(HTML)))],
        "body": HTML}
    return Exchange(**{**base, **fields})


EXCHANGES: list[tuple[str, Exchange]] = [
    ("body and IP address", ex(URL, ip_address="192.0.2.7")),
    ("empty body", ex("https://example.com/moved", status=301, body=b"",
                      response_headers=[("Location", "https://example.com/"),
                                        ("Content-Length", "0")])),
    ("non-ASCII header values", ex(
        "http://example.org/f", response_headers=[
            ("Content-Disposition", f'attachment; filename="{LATIN1}.txt"'), ("X-Note", LATIN1),
            ("Content-Type", "text/plain; charset=latin-1")],
        request_headers=[("Host", "example.org"), ("Referer", f"http://example.org/{LATIN1}")])),
    ("repeated headers", ex(URL, response_headers=[
        ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"), ("Vary", "Accept"),
        ("Vary", "Cookie")])),
    ("Transfer-Encoding renamed", ex(URL, response_headers=[
        ("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"),
        ("transfer-encoding", "gzip")])),
    ("truncated", ex(URL, body=HTML[:20], truncated="length", ip_address="2001:db8::1")),
    ("a phrase, HTTP/1.0", ex("http://example.net", status=404, reason_phrase="Gone Fishing",
                              protocol="HTTP/1.0", body=b"nope")),
    ("unknown status, no phrase", ex(URL, status=599, body=b"x")),
    ("POST with a body", ex("https://example.com/search?q=a", method="POST",
                            request_body=b"q=a&page=2",
                            request_headers=[("Host", "example.com"),
                                             ("Content-Type", "application/x-www-form-urlencoded")])),
    ("no response", ex("https://down.example/x", status=None, body=b"", response_headers=[])),
]


def write_both(directory: Path) -> tuple[list[RecordLocation], WarcioReference]:
    """Every kind of record through ``WarcFileWriter`` and through the reference."""
    writer = WarcFileWriter(directory, clock=FixedClock(), record_id=SequentialIds(), gzip_level=3)
    ids = SequentialIds()
    reference = WarcioReference(ids, warcinfo_id=ids())  # the file's warcinfo takes the first id
    got: list[RecordLocation] = []

    def exchange(item: Exchange, **kwargs: Any) -> RecordLocation | None:
        response, request = writer.write_exchange(item, **kwargs)
        reference.exchange(item, **kwargs)
        got.extend(loc for loc in (response, request) if loc is not None)
        return response

    for _, item in EXCHANGES:
        exchange(item)
    later = T0 + timedelta(days=1, microseconds=1)
    original = exchange(ex(URL), payload_digest=digest_label(hashlib.sha256(HTML).digest()))
    assert original is not None
    revisit = exchange(ex(URL, requested_at=later, ip_address="192.0.2.8", truncated="time"),
                       revisit_of=original, revisit_date=original.date,
                       payload_digest=digest_label(hashlib.sha256(HTML).digest()))
    assert revisit is not None
    documents: list[tuple[str, dict[str, Any]]] = [
        ("metadata", {"uri": "urn:collector:capture:" + URL, "moment": later, "refers_to":
                      revisit.record_id, "concurrent_to": revisit.record_id,
                      "content": {"title": "Ünïcødé ✓ 日本語", "n": 1, "none": None}}),
        ("metadata", {"uri": "urn:collector:text:" + URL, "moment": T0,
                      "content": {"text": "line\nnext \u2028 \"quoted\""}}),
        ("resource", {"uri": "urn:screenshot:" + URL, "moment": T0, "body": b"\x89PNG\r\n\x1a\n",
                      "content_type": "image/png", "concurrent_to": original.record_id}),
        ("resource", {"uri": "https://example.com/report.pdf", "moment": T0, "body": b"",
                      "content_type": ""}),
    ]
    for kind, kwargs in documents:
        if kind == "metadata":
            got.append(writer.write_metadata(**kwargs))
            reference.metadata(**kwargs)
        else:
            got.append(writer.write_resource(**kwargs))
            reference.resource(**kwargs)
    media = b"\x00\x01media" * 5000
    got.append(writer.write_resource_stream(
        "https://video.example/v.mp4", io.BytesIO(media), len(media), content_type="video/mp4",
        moment=T0, payload_digest=digest_label(hashlib.sha256(media).digest())))
    reference.resource_stream("https://video.example/v.mp4", media, content_type="video/mp4",
                              moment=T0, payload_digest=digest_label(hashlib.sha256(media).digest()))
    writer.close()
    return got, reference


def test_every_record_is_the_one_warcio_wrote(tmp_path: Path) -> None:
    locations, reference = write_both(tmp_path)
    assert len(locations) == len(reference.records) == 2 * len(EXCHANGES) - 1 + 4 + 5
    [path] = warc_files(tmp_path)
    content = path.read_bytes()
    for loc, (expected, headers) in zip(locations, reference.records, strict=True):
        got = gzip.decompress(content[loc.offset:loc.offset + loc.length])
        assert got == expected, (loc, expected[:600])
        assert (loc.record_type, loc.record_id, loc.target_uri, loc.date, loc.block_digest) == (
            headers.get_header("WARC-Type"), headers.get_header("WARC-Record-ID"),
            headers.get_header("WARC-Target-URI") or "", headers.get_header("WARC-Date"),
            headers.get_header("WARC-Block-Digest"))
    # one gzip member each, back to back after the warcinfo record, up to the end of the file
    assert all(a.offset + a.length == b.offset for a, b in itertools.pairwise(locations))
    assert locations[-1].offset + locations[-1].length == len(content)


def _records(path: Path) -> Iterator[Any]:
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh, check_digests="raise"):
            record.content_stream().read()
            yield record


def test_the_records_pass_warcios_digest_checks(tmp_path: Path) -> None:
    locations, _ = write_both(tmp_path)
    [path] = warc_files(tmp_path)
    checked = {}
    for record in _records(path):
        checked[record.rec_headers.get_header("WARC-Record-ID")] = record.digest_checker.passed
    # every record's digests were checked and passed (warcio checks no revisit: it has no payload),
    # the warcinfo record's too
    warcinfo = "<urn:uuid:00000000-0000-4000-8000-000000000000>"
    assert checked == {warcinfo: True, **{loc.record_id: None if loc.record_type == "revisit" else True
                                          for loc in locations}}
    warcio_check_files(path)


@pytest.mark.parametrize("headers", [
    [("X-Plain", "ascii only")],
    [("Content-Disposition", f"attachment; filename={LATIN1}")],
    [("X-Note", LATIN1), ("X-Other", "q=\"ü\"; a=b")],
])
def test_http_head_is_warcios_header_buffer(headers: list[tuple[str, str]]) -> None:
    expected = StatusAndHeaders("200 OK", list(headers), protocol="HTTP/1.1")
    expected.compute_headers_buffer()
    assert http_head("HTTP/1.1 200 OK", headers) == expected.headers_buff


def test_http_head_encodes_what_warcio_cannot() -> None:
    """warcio %-encodes the part after '=' of a value with ';' and then fails on what is left (the
    whole commit failed with it): such values, names and status lines get their non-ASCII
    characters %-encoded as UTF-8, the rest kept."""
    headers = [("Link", "<https://x.example/caf\u00e9>; rel=preload"), ("X-\u00dc", "a%20b")]
    with pytest.raises(UnicodeEncodeError):
        StatusAndHeaders("200 \u00d6kay", list(headers), protocol="HTTP/1.1").compute_headers_buffer()
    assert http_head("HTTP/1.1 200 \u00d6kay", headers) == (
        b"HTTP/1.1 200 %C3%96kay\r\nLink: <https://x.example/caf%C3%A9>; rel=preload\r\n"
        b"X-%C3%9C: a%20b\r\n\r\n")


def test_a_record_after_rotation_names_the_new_files_warcinfo(tmp_path: Path) -> None:
    """The response fills the file: the request goes to the next file, under that file's warcinfo
    (it named the previous file's before)."""
    writer = WarcFileWriter(tmp_path, max_bytes=600, clock=FixedClock(), record_id=SequentialIds())
    response, request = writer.write_exchange(ex(URL, body=HTML * 20))
    writer.close()
    assert response is not None and response.warc_file != request.warc_file
    for loc in (response, request):
        records = list(_records(tmp_path / loc.warc_file))
        info = records[0].rec_headers.get_header("WARC-Record-ID")
        assert records[0].rec_headers.get_header("WARC-Type") == "warcinfo"
        assert [r.rec_headers.get_header("WARC-Warcinfo-ID") for r in records[1:]] == [info]


def test_a_streamed_resource_is_compressed_as_it_is_read(tmp_path: Path) -> None:
    """A media file is never held whole in memory: the writer reads, digests and compresses it in
    pieces (the file's memory peak stays far below its size)."""
    import tracemalloc

    size = 48 * 2**20
    source = tmp_path / "media.bin"
    with open(source, "wb") as fh:
        for i in range(size // 2**20):
            fh.write(hashlib.sha256(b"%d" % i).digest() * (2**20 // 32))
    writer = WarcFileWriter(tmp_path / "warcs", clock=FixedClock(), record_id=SequentialIds())
    writer.write_metadata("urn:x", {}, moment=T0)  # the file is open
    tracemalloc.start()
    try:
        with open(source, "rb") as fh:
            loc = writer.write_resource_stream("https://video.example/v", fh, size,
                                               content_type="video/mp4", moment=T0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    writer.close()
    assert peak < 16 * 2**20, peak
    [record] = [r for r in _records(tmp_path / "warcs" / loc.warc_file)
                if r.rec_headers.get_header("WARC-Type") == "resource"]
    assert record.digest_checker.passed is True
    assert int(record.rec_headers.get_header("Content-Length")) == size


def test_digest_labels_are_base64s_base32() -> None:
    """The fast base32 of a sha256 digest and back, against the standard library's."""
    import base64
    import random

    rng = random.Random(18)
    for digest in [bytes(32), b"\xff" * 32, *(rng.randbytes(32) for _ in range(2000))]:
        label = digest_label(digest)
        assert label == "sha256:" + base64.b32encode(digest).decode("ascii")
        assert label_digest(label[7:]) == digest
    for _ in range(500):  # any 52 base32 characters: the 4 bits after the 256 are dropped
        text = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=52)) + "===="
        assert label_digest(text) == base64.b32decode(text)
    assert digest_label(b"") == "sha256:"  # not a sha256: base64's, whatever its length


@pytest.mark.parametrize("text", ["A" * 52 + "===", "a" * 52 + "====", "A" * 51 + "1====",
                                  "A" * 56, "A" * 52 + "====\n"])
def test_label_digest_refuses_what_is_not_a_sha256s_base32(text: str) -> None:
    with pytest.raises(ValueError, match="not the base32"):
        label_digest(text)
