"""Reading WARC records back, byte for byte, and checking them against their digests.

This is a deliberately independent reader (zlib + header parsing, no warcio) so that ``verify`` does not
trust the code that wrote the files. It reads one gzip member per record, as collector writes them.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from storage.errors import ArchiveCorruptError
from storage.store import open_warc, safe_path

__all__ = ["WarcRecord", "check_record", "read_record", "read_record_at", "safe_path", "scan_file",
           "tail_is_complete"]

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class WarcRecord:
    """One parsed WARC record."""

    headers: dict[str, str]
    block: bytes
    offset: int = 0
    length: int = 0  # compressed length in the file
    http_head: bytes | None = None
    payload: bytes = b""
    http_status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def type(self) -> str:
        """The WARC-Type."""
        return self.headers.get("WARC-Type", "")


def _decompress_member(fh: BinaryIO, offset: int) -> tuple[bytes, int]:
    """Decompress the gzip member at ``offset``; return (data, compressed length)."""
    fh.seek(offset)
    dec = zlib.decompressobj(31)
    out = []
    consumed = 0
    while not dec.eof:
        chunk = fh.read(_CHUNK)
        if not chunk:
            raise ArchiveCorruptError(f"torn record at offset {offset}: gzip member ends early")
        try:
            out.append(dec.decompress(chunk))
        except zlib.error as exc:
            raise ArchiveCorruptError(f"bad gzip data in record at offset {offset}: {exc}") from exc
        consumed += len(chunk) - len(dec.unused_data)
    return b"".join(out), consumed


def _parse(data: bytes, offset: int, length: int) -> WarcRecord:
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0 or not data.startswith(b"WARC/"):
        raise ArchiveCorruptError(f"no WARC header in record at offset {offset}")
    lines = data[:head_end].decode("utf-8", "replace").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    try:
        size = int(headers.get("Content-Length", ""))
    except ValueError as exc:
        raise ArchiveCorruptError(f"record at offset {offset} has no valid Content-Length") from exc
    block = data[head_end + 4: head_end + 4 + size]
    if len(block) < size:
        raise ArchiveCorruptError(f"torn record at offset {offset}: block has {len(block)} of "
                                  f"{size} bytes")
    http_head = None
    payload = block
    status = None
    http_headers: list[tuple[str, str]] = []
    ctype = headers.get("Content-Type", "")
    if ctype.startswith("application/http") or headers.get("WARC-Type") == "revisit":
        split = block.find(b"\r\n\r\n")
        if split >= 0:
            http_head = block[: split + 4]
            payload = block[split + 4:]
            head_lines = http_head.decode("iso-8859-1").split("\r\n")
            first = head_lines[0].split(" ")
            if len(first) > 1 and first[1].isdigit():
                status = int(first[1])
            for line in head_lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    http_headers.append((name.strip(), value.strip()))
    return WarcRecord(headers=headers, block=block, offset=offset, length=length,
                      http_head=http_head, payload=payload, http_status=status,
                      http_headers=http_headers)


def read_record(fh: BinaryIO, offset: int) -> WarcRecord:
    """Read and parse the record at ``offset`` of an open WARC.gz file."""
    data, length = _decompress_member(fh, offset)
    return _parse(data, offset, length)


def read_record_at(warc_dir: Path, warc_file: str, offset: int) -> WarcRecord:
    """Open ``warc_file`` under ``warc_dir`` (or in the WARC store attached to it: ``storage.store``)
    and read the record at ``offset``."""
    with open_warc(warc_dir, warc_file, offset) as fh:
        return read_record(fh, offset)


def _digest_matches(label: str, data: bytes) -> bool | None:
    algo, _, value = label.partition(":")
    algo = algo.lower().replace("-", "")
    if algo not in hashlib.algorithms_available:
        return None
    digest = hashlib.new(algo, data).digest()
    candidates = {base64.b32encode(digest).decode().rstrip("="), digest.hex(),
                  base64.b64encode(digest).decode().rstrip("=")}
    return value.rstrip("=") in candidates or value.lower() in candidates


def check_record(record: WarcRecord) -> list[str]:
    """Recompute the block and payload digests; return a list of mismatches (empty when intact).

    The block digest of a revisit record that says it is truncated is not checked: wget writes there
    the digest of the whole original response, which the record does not hold (warcio's ``check``
    checks no revisit's digests at all)."""
    problems = []
    block_label = record.headers.get("WARC-Block-Digest")
    if record.type == "revisit" and record.headers.get("WARC-Truncated"):
        block_label = None
    if block_label and _digest_matches(block_label, record.block) is False:
        problems.append("block digest mismatch")
    payload_label = record.headers.get("WARC-Payload-Digest")
    if payload_label and record.type != "revisit" and _digest_matches(
            payload_label, record.payload) is False:
        problems.append("payload digest mismatch")
    return problems


def scan_file(path: Path | BinaryIO) -> Iterator[WarcRecord | ArchiveCorruptError]:
    """Every record of a WARC.gz file (a path, or an open file: it is closed) in order; a torn or
    corrupt record is yielded as the error."""
    with (open(path, "rb") if isinstance(path, Path) else path) as fh:
        size = fh.seek(0, 2)
        offset = 0
        while offset < size:
            try:
                record = read_record(fh, offset)
            except ArchiveCorruptError as exc:
                yield exc
                return
            yield record
            offset += record.length


_GZIP_MAGIC = b"\x1f\x8b\x08"
_TAIL_WINDOWS = (64 * 1024, 2**20, 16 * 2**20, 64 * 2**20)


def tail_is_complete(fh: BinaryIO) -> bool:
    """Whether an open WARC.gz file ends with a whole record (one complete gzip member holding a
    whole WARC record, nothing after it): the test a writer makes before appending to a file.

    Only the end of the file is read: gzip members are looked for backwards (their magic bytes) in
    growing windows, up to 64 MiB; the nearest one that decompresses to the very end of the file,
    as one whole record, says yes. A complete member followed by bytes that are none (a record torn
    by a crash) says no, and so does an empty file or a last record longer than the largest window.
    """
    size = fh.seek(0, 2)
    if size == 0:
        return False
    for window in _TAIL_WINDOWS:
        start = max(0, size - window)
        fh.seek(start)
        data = fh.read(size - start)
        pos = len(data)
        while (pos := data.rfind(_GZIP_MAGIC, 0, pos)) >= 0:
            verdict = _member_to_end(data, pos)
            if verdict is not None:
                return verdict
        if start == 0:
            return False
    return False


def _member_to_end(data: bytes, pos: int) -> bool | None:
    """True: ``data[pos:]`` is exactly one whole record; False: a whole member that is followed by
    other bytes (a torn tail); None: no member starts at ``pos`` (look further back)."""
    dec = zlib.decompressobj(31)
    head = b""
    total = 0
    fed = pos
    try:
        for start in range(pos, len(data), _CHUNK):
            fed = min(start + _CHUNK, len(data))
            out = dec.decompress(data[start:fed])
            total += len(out)
            if len(head) < _CHUNK:
                head += out[:_CHUNK]
            if dec.eof:
                break
    except zlib.error:
        return None
    if not dec.eof:
        return None
    if dec.unused_data or fed < len(data) or not head.startswith(b"WARC/"):
        return False
    end = head.find(b"\r\n\r\n")
    length = next((line.split(b":", 1)[1] for line in head[:end].split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    try:
        return end >= 0 and length is not None and total - end - 4 >= int(length)
    except ValueError:
        return False
