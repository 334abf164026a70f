"""Payloads streamed out of their WARC records (``storage.payloadstream``) are the bytes ``retrieve``
reads whole, for responses and revisits, and a damaged record raises ArchiveCorruptError."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from storage.archive import Archive
from storage.errors import ArchiveCorruptError
from storage.payloadstream import CHUNK, http_headers_at, iter_payload, payload_chunks
from storage.retrieve import capture_payload, response_headers
from tests.storage.helpers import T0, html_capture

BIG = b"<html><body>" + os.urandom(3 * CHUNK).hex().encode() + b"</body></html>"


def test_streamed_payload_and_headers_match_the_whole_read(archive: Archive) -> None:
    later = T0 + timedelta(days=1)
    first, again = archive.commit_captures([html_capture("https://e.org/big", T0, body=BIG),
                                            html_capture("https://e.org/big", later, body=BIG)])
    assert again.is_revisit
    for capture in (first, again):
        size, chunks = payload_chunks(archive.warc_dir, capture)
        pieces = list(chunks)
        assert len(pieces) > 3 and max(len(p) for p in pieces) <= CHUNK
        assert b"".join(pieces) == capture_payload(archive.warc_dir, capture) == BIG and size == len(BIG)
        assert capture.warc_file is not None and capture.warc_offset is not None
        assert http_headers_at(archive.warc_dir, capture.warc_file, capture.warc_offset) == \
            response_headers(archive.warc_dir, capture)


def test_a_torn_record_raises(archive: Archive) -> None:
    [capture] = archive.commit_captures([html_capture("https://e.org/torn", T0, body=BIG)])
    assert capture.payload_file is not None and capture.payload_offset is not None
    path = archive.warc_dir / capture.payload_file
    path.write_bytes(path.read_bytes()[: capture.payload_offset + (capture.payload_length or 0) // 2])
    with pytest.raises(ArchiveCorruptError, match="torn record"):
        b"".join(iter_payload(archive.warc_dir, capture.payload_file, capture.payload_offset))
    with pytest.raises(ArchiveCorruptError):
        payload_chunks(archive.warc_dir, capture)
