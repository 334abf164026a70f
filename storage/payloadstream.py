"""A capture's payload streamed out of its WARC record in bounded memory (replay of large pages).

``storage.warcread`` reads a whole record into memory, which is what verifying and small payloads want;
a 45 MB page read that way costs several copies of itself. Here the record's gzip member is inflated a
chunk at a time, its WARC and HTTP headers are skipped, and the payload is yielded chunk by chunk.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import BinaryIO

from storage.errors import ArchiveCorruptError, NoCaptureError
from storage.records import CaptureRecord
from storage.store import open_warc

__all__ = ["http_headers_at", "iter_payload", "payload_chunks"]

CHUNK = 256 * 1024
_MAX_HEAD = 1024 * 1024  # WARC plus HTTP headers longer than this are not a record collector wrote


def _inflated(fh: BinaryIO, offset: int) -> Iterator[bytes]:
    """The gzip member at ``offset``, inflated, in pieces of at most ``CHUNK`` bytes."""
    dec = zlib.decompressobj(31)
    while not dec.eof:
        raw = fh.read(CHUNK)
        if not raw:
            raise ArchiveCorruptError(f"torn record at offset {offset}: gzip member ends early")
        try:
            while raw and not dec.eof:
                piece = dec.decompress(raw, CHUNK)
                raw = dec.unconsumed_tail
                if piece:
                    yield piece
        except zlib.error as exc:
            raise ArchiveCorruptError(f"bad gzip data in record at offset {offset}: {exc}") from exc


def _split_head(pieces: Iterator[bytes], first: bytes, offset: int) -> tuple[bytes, bytes]:
    """(everything up to and including the first blank line, what follows of the data read so far)."""
    data = bytearray(first)
    while (end := data.find(b"\r\n\r\n")) < 0:
        if len(data) > _MAX_HEAD:
            raise ArchiveCorruptError(f"no end of headers in record at offset {offset}")
        piece = next(pieces, None)
        if piece is None:
            raise ArchiveCorruptError(f"torn record at offset {offset}: headers end early")
        data += piece
    return bytes(data[:end + 4]), bytes(data[end + 4:])


def iter_payload(warc_dir: Path, warc_file: str, offset: int) -> Iterator[bytes]:
    """The payload of the record at ``offset`` of ``warc_file`` (after its HTTP headers, for a response
    or revisit), in chunks of at most ``CHUNK`` bytes. Raises ArchiveCorruptError (when iterated) for a
    missing file or a torn or malformed record."""
    parts = _parts(warc_dir, warc_file, offset)
    next(parts)  # the HTTP head
    yield from parts


def http_headers_at(warc_dir: Path, warc_file: str, offset: int) -> list[tuple[str, str]]:
    """The HTTP headers of the response or revisit record at ``offset``, in the order received, read
    without the payload that follows them."""
    parts = _parts(warc_dir, warc_file, offset)
    try:
        head = next(parts)
    finally:
        parts.close()
    found = []
    for line in head.decode("iso-8859-1").split("\r\n")[1:]:
        if line:
            name, _, value = line.partition(":")
            found.append((name.strip(), value.strip()))
    return found


def _parts(warc_dir: Path, warc_file: str, offset: int) -> Generator[bytes, None, None]:
    """The record's HTTP head (b"" for a record without one), then its payload in chunks."""
    fh = open_warc(warc_dir, warc_file, offset)  # closed by the generator's finally
    try:
        fh.seek(offset)
        pieces = _inflated(fh, offset)
        head, rest = _split_head(pieces, b"", offset)
        if not head.startswith(b"WARC/"):
            raise ArchiveCorruptError(f"no WARC header in record at offset {offset}")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            remaining = int(headers.get("content-length", ""))
        except ValueError as exc:
            raise ArchiveCorruptError(f"record at offset {offset} has no valid Content-Length") from exc
        http_head = b""
        if remaining > 0 and (headers.get("content-type", "").startswith("application/http")
                              or headers.get("warc-type") == "revisit"):
            http_head, rest = _split_head(pieces, rest, offset)
            remaining -= len(http_head)
        yield http_head
        while remaining > 0:
            if rest:
                out, rest = rest[:remaining], b""
                remaining -= len(out)
                yield out
                continue
            piece = next(pieces, None)
            if piece is None:
                raise ArchiveCorruptError(f"torn record at offset {offset}: block ends early")
            rest = piece
    finally:
        fh.close()


def payload_chunks(warc_dir: Path, capture: CaptureRecord, *, check: bool = True
                   ) -> tuple[int | None, Iterator[bytes]]:
    """(the payload's size, the payload exactly as received chunk by chunk). With ``check`` the whole
    payload's sha256 is compared with the row's first (one extra streamed pass, before anything is
    yielded, which also measures the size; None without it), raising ArchiveCorruptError on a mismatch;
    NoCaptureError when the capture has no payload."""
    if capture.payload_file is None or capture.payload_offset is None:
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no payload "
                             f"(outcome {capture.outcome}: {capture.reason or 'no response'})")
    file, offset = capture.payload_file, capture.payload_offset
    size = None
    if check and capture.sha256:
        digest = hashlib.sha256()
        size = 0
        for chunk in iter_payload(warc_dir, file, offset):
            digest.update(chunk)
            size += len(chunk)
        if digest.hexdigest() != capture.sha256:
            raise ArchiveCorruptError(f"payload of capture {capture.id} in {file} at offset {offset} "
                                      f"does not match its sha256 {capture.sha256}")
    return size, iter_payload(warc_dir, file, offset)
