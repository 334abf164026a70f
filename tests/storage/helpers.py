"""Builders and WARC tools shared by the storage contract tests (plain functions, no fixtures)."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.records import CaptureInput, Exchange

T0 = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)

HTML = b"<html><head><title>Hello</title></head><body><p>Hello, world.</p></body></html>"
HTML_HEADERS: list[tuple[str, str]] = [("Content-Type", "text/html; charset=utf-8")]


class FixedClock:
    """A clock that returns ``start``, then ``start + step``, ... (step zero: always the same)."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(0)) -> None:
        self._next = start
        self._step = step

    def __call__(self) -> datetime:
        now = self._next
        self._next = now + self._step
        return now


class SequentialIds:
    """Deterministic ``<urn:uuid:...>`` WARC-Record-IDs: 0, 1, 2, ..."""

    def __init__(self, namespace: int = 0) -> None:
        self._counter = itertools.count()
        self._namespace = namespace

    def __call__(self) -> str:
        return f"<urn:uuid:{self._namespace:08x}-0000-4000-8000-{next(self._counter):012x}>"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def exchange(
    url: str,
    at: datetime,
    *,
    status: int | None = 200,
    body: bytes = HTML,
    headers: Iterable[tuple[str, str]] = HTML_HEADERS,
    **extra: Any,
) -> Exchange:
    """One hop: a GET of ``url`` at ``at`` answered with ``status`` (None: no response)."""
    return Exchange(
        url=url, requested_at=at, status=status,
        request_headers=[("Host", url.split("/")[2]), ("User-Agent", "collector-test")],
        response_headers=list(headers) if status is not None else [],
        body=body if status is not None else b"", **extra,
    )


def html_capture(url: str, at: datetime = T0, *, body: bytes = HTML,
                 content_type: str = "text/html; charset=utf-8", **extra: Any) -> CaptureInput:
    """A successful single-hop capture of ``url`` (captured_at == the request time, as collector does)."""
    return CaptureInput(
        url=url, captured_at=at, outcome="captured",
        exchanges=[exchange(url, at, body=body, headers=[("Content-Type", content_type)])],
        final_url=url, redirect_chain=[{"url": url, "status": 200}], **extra,
    )


def failed_capture(url: str, at: datetime = T0, *, reason: str = "dns-error",
                   detail: str = "name does not resolve") -> CaptureInput:
    """A fetch attempt that never got a response (no exchanges at all)."""
    return CaptureInput(url=url, captured_at=at, outcome="failed", reason=reason,
                        reason_detail=detail)


def redirect_capture(url: str, target: str, at: datetime = T0, *, body: bytes = HTML) -> CaptureInput:
    """``url`` answers 301 to ``target``, which answers 200 with ``body``."""
    later = at + timedelta(milliseconds=120)
    hops = [
        exchange(url, at, status=301, body=b"", headers=[("Location", target),
                                                         ("Content-Length", "0")]),
        exchange(target, later, body=body),
    ]
    return CaptureInput(
        url=url, captured_at=later, outcome="captured", exchanges=hops, final_url=target,
        redirect_chain=[{"url": url, "status": 301}, {"url": target, "status": 200}],
    )


# -- WARC files ------------------------------------------------------------------------------------

def warcio_check_files(*paths: Path) -> None:
    """Assert that ``warcio check`` accepts every file given."""
    assert paths, "no WARC files to check"
    tool = Path(sys.executable).parent / "warcio"
    result = subprocess.run([str(tool), "check", "-v", *map(str, paths)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest failed" not in result.stdout, result.stdout


def warc_files(warc_dir: Path) -> list[Path]:
    return sorted(Path(warc_dir).glob("*.warc.gz"))


def member_at(path: Path, offset: int) -> tuple[bytes, int]:
    """(decompressed bytes, compressed length) of the gzip member at ``offset``."""
    raw = path.read_bytes()[offset:]
    dec = zlib.decompressobj(31)
    data = dec.decompress(raw)
    assert dec.eof, f"no complete gzip member at {offset} of {path.name}"
    return data, len(raw) - len(dec.unused_data)


def rewrite_member(path: Path, offset: int, change: Callable[[bytes], bytes], *,
                   compresslevel: int = 0) -> tuple[int, int]:
    """Replace the gzip member at ``offset`` by ``change(its data)``, gzipped again, in place.

    Nothing else in the file is touched; records after it move if the new member has another size.
    Returns (old compressed length, new compressed length).
    """
    data, old_length = member_at(path, offset)
    new_member = gzip.compress(change(data), compresslevel=compresslevel, mtime=0)
    content = path.read_bytes()
    path.write_bytes(content[:offset] + new_member + content[offset + old_length:])
    return old_length, len(new_member)


def flip_byte_of(needle: bytes) -> Callable[[bytes], bytes]:
    """A ``change`` for rewrite_member that flips one bit in the first byte of ``needle``."""

    def change(data: bytes) -> bytes:
        at = data.index(needle)
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]

    return change
