"""Getting archived bytes back: payload, headers, extracted text, or the capture's WARC records.

Errors: ``NoCaptureError`` when the capture has no such part (a failed fetch has no payload, a pending
extraction no text), ``ArchiveCorruptError`` when the WARC file does not give back what was written, and
``ContentDecodeError`` when a payload's ``Content-Encoding`` cannot be undone (``decode_content``,
``ArchivedResponse.decoded``); each message names the capture's URL or the WARC file.
"""

from __future__ import annotations

import email.message
import hashlib
import itertools
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.errors import ArchiveCorruptError, ContentDecodeError, DecodedTooLargeError, NoCaptureError
from storage.records import CaptureRecord
from storage.store import open_warc
from storage.warcread import WarcRecord, read_record_at

__all__ = ["EXTRACTED_TYPES", "ArchivedResponse", "archived_response", "capture_headers", "capture_main_text",
           "capture_payload", "capture_text", "capture_warc", "content_charset", "decode_content",
           "decode_prefix", "extracted_type", "header_value", "response_headers"]

# the media types whose text is extracted (HTML by trafilatura, PDF by pypdf)
EXTRACTED_TYPES = ("text/html", "application/xhtml+xml", "application/pdf", "application/x-pdf")


def extracted_type(content_type: str | None) -> bool:
    """True for a Content-Type whose text collector extracts (HTML, XHTML, PDF), in any case."""
    return bool(content_type and content_type.split(";", 1)[0].strip().lower() in EXTRACTED_TYPES)


def content_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type value, lowercased (quoted, or RFC 2231-encoded, as
    ``email.message`` reads it); None when it names none (or not in ASCII)."""
    if not content_type:
        return None
    message = email.message.Message()
    try:
        message["Content-Type"] = content_type
    except ValueError:  # a value the email package refuses (a line break)
        return None
    return message.get_content_charset()


def decode_content(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, br, zstd), refusing output over ``max_bytes``.

    Raises ContentDecodeError for an unknown coding, corrupt data, a decoder that is not installed, or a
    decoded body over ``max_bytes``.
    """
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip", "deflate"):
            out = _inflate(body, coding, max_bytes)
        elif coding == "br":
            try:
                import brotli  # optional dependency: only a br body needs it
            except ImportError as exc:
                raise ContentDecodeError("brotli is not installed") from exc
            try:
                out = brotli.decompress(body)
            except brotli.error as exc:
                raise ContentDecodeError(f"bad br data ({exc})") from exc
        elif coding == "zstd":
            try:
                import zstandard  # optional dependency: only a zstd body needs it
            except ImportError as exc:
                raise ContentDecodeError("zstandard is not installed") from exc
            try:
                out = zstandard.ZstdDecompressor().decompress(body, max_output_size=max_bytes + 1)
            except zstandard.ZstdError as exc:
                raise ContentDecodeError(f"bad zstd data ({exc})") from exc
        else:
            raise ContentDecodeError(f"unknown content-encoding {coding!r}")
        if len(out) > max_bytes:
            raise DecodedTooLargeError(f"decoded body exceeds {max_bytes} bytes")
        body = out
    return body


_STEP = 64 * 1024  # input fed to a streaming decoder at a time


def decode_prefix(body: bytes | Iterable[bytes], encoding: str | None, max_bytes: int
                  ) -> tuple[bytes, str | None]:
    """Undo ``Content-Encoding`` as far as it goes: (what could be decoded, at most ``max_bytes``; why it
    stops short, or None when the body decoded completely within ``max_bytes``).

    ``body`` is the payload or its chunks (``storage.payloadstream``: then only as much of it is read as
    the first ``max_bytes`` decoded bytes need). Never raises for bad data: a truncated or corrupt
    gzip/deflate/br/zstd body gives the bytes decoded before the damage, an unknown coding or a decoder
    that is not installed gives the body as it is, each with the reason. Memory stays within about
    ``max_bytes`` whatever the compression ratio.
    """
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    codings = [c for c in reversed(codings) if c != "identity"]
    pieces: Iterable[bytes] = _pieces(body) if isinstance(body, bytes | bytearray) else body
    problem: str | None = None
    for coding in codings:
        decoded, step_problem = _decode_stream(iter(pieces), coding, max_bytes)
        pieces = _pieces(decoded)
        problem = problem or step_problem
    out, over = _take(iter(pieces), max_bytes)
    return out, problem or (f"longer than {max_bytes} bytes" if over else None)


def _pieces(body: bytes) -> Iterator[bytes]:
    return (body[start:start + _STEP] for start in range(0, len(body), _STEP))


def _take(pieces: Iterator[bytes], max_bytes: int) -> tuple[bytes, bool]:
    """(the first ``max_bytes`` bytes of ``pieces``, whether there was more)."""
    out = bytearray()
    for piece in pieces:
        out += piece
        if len(out) > max_bytes:
            return bytes(out[:max_bytes]), True
    return bytes(out), False


def _decode_stream(pieces: Iterator[bytes], coding: str, max_bytes: int) -> tuple[bytes, str | None]:
    """One coding undone chunk by chunk; (output so far, the reason it stopped short or None)."""
    out = bytearray()
    if coding in ("gzip", "x-gzip", "deflate"):
        if coding != "deflate":
            problem = _inflate_into(out, pieces, 47, max_bytes, coding)
            return bytes(out), problem
        first = next(pieces, b"")
        problem = _inflate_into(out, itertools.chain([first], pieces), 15, max_bytes, coding)
        if problem and not out:  # raw deflate, as some servers send it (decided by the first bytes)
            problem = _inflate_into(out, itertools.chain([first], pieces), -15, max_bytes, coding)
        return bytes(out), problem
    if coding == "br":
        try:
            import brotli  # optional dependency: only a br body needs it
        except ImportError:
            return _take(pieces, max_bytes)[0], "brotli is not installed"
        dec = brotli.Decompressor()
        try:
            for piece in pieces:
                out += dec.process(piece, output_buffer_limit=max_bytes + 1)
                while len(out) <= max_bytes and not dec.can_accept_more_data():
                    out += dec.process(b"", output_buffer_limit=max_bytes + 1)
                if len(out) > max_bytes:
                    return bytes(out[:max_bytes]), f"longer than {max_bytes} bytes"
        except brotli.error as exc:
            return bytes(out), f"bad br data after {len(out)} decoded bytes ({exc})"
        return bytes(out), None if dec.is_finished() else f"br data truncated after {len(out)} bytes"
    if coding == "zstd":
        try:
            import zstandard  # optional dependency: only a zstd body needs it
        except ImportError:
            return _take(pieces, max_bytes)[0], "zstandard is not installed"
        zdec = zstandard.ZstdDecompressor().decompressobj()
        try:
            for piece in pieces:
                for start in range(0, len(piece), 1024):  # small steps: zstd has no output limit here
                    out += zdec.decompress(piece[start:start + 1024])
                    if len(out) > max_bytes:
                        return bytes(out[:max_bytes]), f"longer than {max_bytes} bytes"
        except zstandard.ZstdError as exc:
            return bytes(out), f"bad zstd data after {len(out)} decoded bytes ({exc})"
        return bytes(out), None if zdec.eof else f"zstd data truncated after {len(out)} bytes"
    return _take(pieces, max_bytes)[0], f"unknown content-encoding {coding!r}"


def _inflate_into(out: bytearray, pieces: Iterator[bytes], wbits: int, max_bytes: int, coding: str
                  ) -> str | None:
    dec = zlib.decompressobj(wbits)
    try:
        for piece in pieces:
            data = piece
            while data:
                chunk = data
                data = b""
                while chunk:
                    out += dec.decompress(chunk, max_bytes + 1 - len(out))
                    if len(out) > max_bytes:
                        del out[max_bytes:]
                        return f"longer than {max_bytes} bytes"
                    chunk = dec.unconsumed_tail
                if dec.eof:
                    if wbits == 47 and dec.unused_data.strip(b"\0"):  # another gzip member follows
                        dec, data = zlib.decompressobj(wbits), dec.unused_data
                    else:
                        return None
    except zlib.error as exc:
        return f"bad {coding} data after {len(out)} decoded bytes ({exc})"
    return None if dec.eof else f"{coding} data truncated after {len(out)} bytes"


def _inflate(body: bytes, coding: str, max_bytes: int) -> bytes:
    try:
        if coding != "deflate":
            return _gunzip_members(body, max_bytes)
        return zlib.decompressobj(15).decompress(body, max_bytes + 1)
    except zlib.error:
        if coding != "deflate":
            raise ContentDecodeError(f"bad {coding} data") from None
    try:  # raw deflate, as some servers send it
        return zlib.decompressobj(-15).decompress(body, max_bytes + 1)
    except zlib.error:
        raise ContentDecodeError("bad deflate data") from None


def _gunzip_members(body: bytes, max_bytes: int) -> bytes:
    """Every member of a gzip body, one after another (as ``gzip -d`` and browsers read it), at most
    ``max_bytes + 1`` bytes of output. Bytes after the last member that start no member are ignored."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while rest:
        inflater = zlib.decompressobj(47)
        parts.append(inflater.decompress(rest, max_bytes + 1 - size))
        size += len(parts[-1])
        if size > max_bytes or not inflater.eof:
            break
        rest = inflater.unused_data
        if rest[:2] != b"\x1f\x8b":  # padding or trailing garbage, not another member
            break
    return b"".join(parts)


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    """The value of the first header called ``name`` (any case); None when there is none."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


@dataclass(frozen=True, kw_only=True)
class ArchivedResponse:
    """A capture's payload as received, with the HTTP response headers it came with."""

    capture: CaptureRecord
    payload: bytes  # as received: still content-encoded when the server encoded it
    headers: list[tuple[str, str]]  # in the order received

    def header(self, name: str) -> str | None:
        """The value of the first response header called ``name`` (any case)."""
        return header_value(self.headers, name)

    @property
    def content_encoding(self) -> str | None:
        """The ``Content-Encoding`` the payload was sent with, if any."""
        return self.header("content-encoding")

    def decoded(self, max_bytes: int) -> bytes:
        """The payload with its ``Content-Encoding`` undone.

        Raises ContentDecodeError naming the capture's URL when that cannot be done within ``max_bytes``.
        """
        try:
            return decode_content(self.payload, self.content_encoding, max_bytes)
        except ContentDecodeError as exc:
            raise ContentDecodeError(f"cannot decode the archived payload of {self.capture.url}: "
                                     f"{exc}") from exc


def archived_response(warc_dir: Path, capture: CaptureRecord, *, check: bool = True) -> ArchivedResponse:
    """The capture's payload (sha256-checked with ``check``) and its response headers.

    The headers come from the capture's own response or revisit record. Raises NoCaptureError when the
    capture has no payload, ArchiveCorruptError when its records cannot be read back.
    """
    payload = capture_payload(warc_dir, capture, check=check)
    return ArchivedResponse(capture=capture, payload=payload, headers=response_headers(warc_dir, capture))


def capture_payload(warc_dir: Path, capture: CaptureRecord, *, check: bool = True) -> bytes:
    """The payload bytes exactly as received; with ``check`` the sha256 must match the row."""
    if capture.payload_file is None or capture.payload_offset is None:
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no payload "
                             f"(outcome {capture.outcome}: {capture.reason or 'no response'})")
    record = read_record_at(warc_dir, capture.payload_file, capture.payload_offset)
    if check and capture.sha256 and hashlib.sha256(record.payload).hexdigest() != capture.sha256:
        raise ArchiveCorruptError(
            f"payload of capture {capture.id} in {capture.payload_file} at offset "
            f"{capture.payload_offset} does not match its sha256 {capture.sha256}")
    return record.payload


def _own_record(warc_dir: Path, capture: CaptureRecord) -> WarcRecord:
    if capture.warc_file is None or capture.warc_offset is None:
        raise NoCaptureError(f"capture {capture.id} has no WARC record")
    return read_record_at(warc_dir, capture.warc_file, capture.warc_offset)


def capture_headers(warc_dir: Path, capture: CaptureRecord) -> bytes:
    """The HTTP status line and headers of the capture's own response (or revisit) record."""
    record = _own_record(warc_dir, capture)
    if record.http_head is None:
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no HTTP response "
                             f"(outcome {capture.outcome}: {capture.reason})")
    return record.http_head


def response_headers(warc_dir: Path, capture: CaptureRecord) -> list[tuple[str, str]]:
    """The HTTP headers of the capture's own response (or revisit) record, in the order received."""
    return list(_own_record(warc_dir, capture).http_headers)


def capture_text(warc_dir: Path, capture: CaptureRecord) -> dict[str, Any]:
    """The extracted-text metadata record of the capture (title, published, text, text_sha256)."""
    if capture.text_file is None or capture.text_offset is None:
        status = capture.extraction_status
        if status is None and (capture.outcome != "captured" or capture.payload_file is None):
            status = f"none, the fetch has no payload (outcome {capture.outcome})"
        elif status is None and not extracted_type(capture.content_type):
            status = f"none, {capture.content_type or 'a payload without a content type'} is not extracted"
        if status in (None, "pending"):
            raise NoCaptureError(f"capture {capture.id} of {capture.url} is not extracted yet: run "
                                 "collector extract --pending")
        raise NoCaptureError(f"capture {capture.id} of {capture.url} has no extracted text "
                             f"(extraction: {status})")
    record = read_record_at(warc_dir, capture.text_file, capture.text_offset)
    return dict(json.loads(record.payload.decode("utf-8")))


def capture_main_text(warc_dir: Path, capture: CaptureRecord) -> str:
    """The extracted main text of the capture (``""`` when extraction found none)."""
    return str(capture_text(warc_dir, capture).get("text") or "")


def capture_warc(warc_dir: Path, capture: CaptureRecord) -> bytes:
    """The capture's WARC records (and, for a revisit, the original response) as a WARC.gz stream."""
    spans: list[tuple[str, int, int]] = []
    if capture.revisit_of is not None and capture.payload_file is not None:
        spans.append((capture.payload_file, capture.payload_offset or 0,
                      capture.payload_length or 0))
    spans += [(r["file"], r["offset"], r["length"]) for r in capture.records]
    if capture.text_file is not None and capture.text_offset is not None:
        record = read_record_at(warc_dir, capture.text_file, capture.text_offset)
        spans.append((capture.text_file, capture.text_offset, record.length))
    out = bytearray()
    seen = set()
    for name, offset, length in spans:
        if (name, offset) in seen:
            continue
        seen.add((name, offset))
        with open_warc(warc_dir, name, offset) as fh:
            fh.seek(offset)
            chunk = fh.read(length)
        if len(chunk) != length:
            raise ArchiveCorruptError(f"torn record in {name} at offset {offset}: "
                                      f"{len(chunk)} of {length} bytes")
        out += chunk
    return bytes(out)
