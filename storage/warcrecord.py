"""WARC 1.1 records built as bytes in one pass (issue 18: the archive path's CPU).

warcio's writer builds a record out of objects (a ``StatusAndHeaders`` per header block, a record,
digesters) and looks headers up by lower-casing every name on each lookup: about half of the writer
process's CPU went there. The functions here write the same bytes directly: the same header names
in the same order with the same values, ``WARC/1.1``, each digest computed once (block: HTTP header
bytes + body; payload: the body; ``sha256:BASE32`` labels). ``tests/storage/test_warcrecord.py``
holds warcio's way of writing them and proves both give identical records. ``storage.warcfile``
compresses and places them; warcio still writes the rare ones (warcinfo, streamed resources) and
reads everything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote

from warcio.statusandheaders import StatusAndHeaders

__all__ = ["REQUEST_TYPE", "RESPONSE_TYPE", "REVISIT_PROFILE", "BuiltRecord", "RecordHead",
           "digest_label", "document_record", "http_head", "label_digest", "request_record",
           "response_record", "revisit_record", "status_line"]

Fields = list[tuple[str, str]]

RESPONSE_TYPE = "application/http; msgtype=response"
REQUEST_TYPE = "application/http; msgtype=request"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
_NO_TYPE = "application/warc-record"  # what warcio writes for a document without a content type
_END = b"\r\n\r\n"
_PRINTABLE = "".join(map(chr, range(0x20, 0x7F)))  # what the last resort of ``http_head`` keeps


# base32 of a 32-byte digest, ~3x faster than base64.b32encode (pure Python on 3.11) and ~7x for
# decoding: a record's labels and the ledger's packing of them took ~5% of the writer's CPU
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS = [first + second for first in _B32 for second in _B32]  # 10 bits -> 2 characters
_B32_SHIFTS = range(270, -1, -10)  # 256 bits + 24 zero bits: 28 pairs, the last 4 characters padding
_B32_AS_BASE32HEX = str.maketrans(_B32, "0123456789ABCDEFGHIJKLMNOPQRSTUV")  # what int(_, 32) reads


def digest_label(digest: bytes) -> str:
    """The WARC ``sha256:BASE32`` label of a sha256 digest (``base64.b32encode``'s text)."""
    if len(digest) != 32:
        return "sha256:" + base64.b32encode(digest).decode("ascii")
    bits = int.from_bytes(digest, "big") << 24
    return "sha256:" + "".join([_B32_PAIRS[(bits >> shift) & 0x3FF] for shift in _B32_SHIFTS])[:52] + "===="


def label_digest(base32: str) -> bytes:
    """The 32 bytes of the ``BASE32`` part of a sha256 label (52 characters of ``A-Z2-7``, then
    ``====``), as ``base64.b32decode`` reads them (the 4 bits after the 256 are dropped);
    ValueError for any other text."""
    if len(base32) != 56 or not base32.endswith("====") or base32[:52].strip(_B32):
        raise ValueError(f"not the base32 of a sha256 digest: {base32!r}")
    return (int(base32[:52].translate(_B32_AS_BASE32HEX), 32) >> 4).to_bytes(32, "big")


def _sha256_label(*parts: bytes) -> str:
    digest = hashlib.sha256(parts[0])
    for part in parts[1:]:
        digest.update(part)
    return digest_label(digest.digest())


@dataclass(frozen=True, slots=True)
class RecordHead:
    """The fields every record starts with: its id and date, the warcinfo record of its run, its
    target URI (none when empty)."""

    record_id: str
    date: str
    target_uri: str = ""
    warcinfo_id: str | None = None

    def fields(self, *extra: tuple[str, str | None]) -> Fields:
        """These fields, then each of ``extra`` that has a value."""
        out = [("WARC-Record-ID", self.record_id), ("WARC-Date", self.date)]
        if self.warcinfo_id:
            out.append(("WARC-Warcinfo-ID", self.warcinfo_id))
        if self.target_uri:
            out.append(("WARC-Target-URI", self.target_uri))
        out += [(name, value) for name, value in extra if value]
        return out


@dataclass(frozen=True, slots=True)
class BuiltRecord:
    """One whole record, uncompressed, and the header values a ``RecordLocation`` keeps."""

    data: bytes
    record_type: str
    head: RecordHead
    block_digest: str


def _build(record_type: str, head: RecordHead, fields: Fields, block: Sequence[bytes],
           block_digest: str) -> BuiltRecord:
    text = "WARC/1.1\r\n" + "".join([f"{name}: {value}\r\n" for name, value in fields]) + "\r\n"
    data = b"".join([text.encode("utf-8"), *block, _END])
    return BuiltRecord(data=data, record_type=record_type, head=head, block_digest=block_digest)


@functools.lru_cache(maxsize=256)
def status_line(status: int, phrase: str) -> str:
    """``"<status> <phrase>"``; the standard phrase when ``phrase`` is empty (none for an unknown
    status)."""
    if not phrase:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
    return f"{status} {phrase}".rstrip()


def http_head(first_line: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """An HTTP status or request line and its headers, up to the blank line, as warcio writes them:
    ASCII, non-ASCII header values %-encoded (RFC 8187) by warcio itself (rare). What warcio cannot
    encode (a value such as ``<https://x/é>; rel=preload``, where it encodes the part after ``=``
    only and then fails, a name, a status line) has its non-ASCII characters %-encoded as UTF-8."""
    text = first_line + "\r\n" + "".join([f"{name}: {value}\r\n" for name, value in headers]) + "\r\n"
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        pass
    try:
        return bytes(StatusAndHeaders("", list(headers), protocol=first_line).to_ascii_bytes())
    except UnicodeEncodeError:
        return http_head(_ascii(first_line), [(_ascii(name), _ascii(value)) for name, value in headers])


def _ascii(text: str) -> str:
    """``text`` with its non-ASCII characters (and controls) %-encoded as UTF-8."""
    return quote(text, safe=_PRINTABLE)


def response_record(head: RecordHead, http: bytes, body: bytes, *, ip_address: str | None = None,
                    truncated: str | None = None, payload_digest: str | None = None) -> BuiltRecord:
    """A ``response`` record: ``http`` (``http_head``) then ``body`` (``payload_digest``: the body's
    label when the caller has it)."""
    payload = payload_digest or _sha256_label(body)
    block = _sha256_label(http, body)
    fields = head.fields(("WARC-IP-Address", ip_address), ("WARC-Truncated", truncated),
                         ("WARC-Payload-Digest", payload), ("WARC-Block-Digest", block))
    fields += [("WARC-Type", "response"), ("Content-Type", RESPONSE_TYPE),
               ("Content-Length", str(len(http) + len(body)))]
    return _build("response", head, fields, (http, body), block)


def revisit_record(head: RecordHead, http: bytes, *, refers_to: str, refers_to_uri: str,
                   refers_to_date: str, payload_digest: str, ip_address: str | None = None,
                   truncated: str | None = None) -> BuiltRecord:
    """A ``revisit`` record (identical payload): ``http`` alone, pointing at record ``refers_to``."""
    block = _sha256_label(http)
    fields = head.fields(("WARC-Refers-To", refers_to), ("WARC-IP-Address", ip_address),
                         ("WARC-Truncated", truncated))
    fields += [("WARC-Type", "revisit"), ("WARC-Profile", REVISIT_PROFILE),
               ("WARC-Refers-To-Target-URI", refers_to_uri), ("WARC-Refers-To-Date", refers_to_date),
               ("WARC-Payload-Digest", payload_digest), ("WARC-Block-Digest", block),
               ("Content-Type", RESPONSE_TYPE), ("Content-Length", str(len(http)))]
    return _build("revisit", head, fields, (http,), block)


def request_record(head: RecordHead, http: bytes, body: bytes, *,
                   concurrent_to: str | None = None) -> BuiltRecord:
    """A ``request`` record: ``http`` then ``body`` (a payload digest only when there is a body)."""
    fields = head.fields(("WARC-Concurrent-To", concurrent_to))
    fields.append(("WARC-Type", "request"))
    if body:
        fields.append(("WARC-Payload-Digest", _sha256_label(body)))
    block = _sha256_label(http, body)
    fields += [("WARC-Block-Digest", block), ("Content-Type", REQUEST_TYPE),
               ("Content-Length", str(len(http) + len(body)))]
    return _build("request", head, fields, (http, body), block)


def document_record(record_type: str, head: RecordHead, body: bytes, content_type: str,
                    *extra: tuple[str, str | None]) -> BuiltRecord:
    """A ``resource`` or ``metadata`` record holding ``body`` (no HTTP headers: one digest is both
    block and payload digest); ``extra``: fields after the head's (those with a value)."""
    digest = _sha256_label(body)
    fields = head.fields(*extra)
    fields += [("Content-Type", content_type or _NO_TYPE), ("WARC-Type", record_type),
               ("WARC-Payload-Digest", digest), ("WARC-Block-Digest", digest),
               ("Content-Length", str(len(body)))]
    return _build(record_type, head, fields, (body,), digest)
