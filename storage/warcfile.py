"""Writing WARC 1.1 files: gzip per record, sha256 digests, rotation, fsync.

``WarcFileWriter`` appends records to the current file of a directory and tells where each one landed.
A new file is started whenever the current file passes ``max_bytes``. Record IDs and dates come from
injectable seams so tests can compare output byte for byte.

Files and writers (issue 13). A writer holds an exclusive ``flock`` on the file it writes (on the
WARC file itself, from before its first byte until it closes it; the kernel drops it however the
process ends), so a file has one writer at a time. With ``append``, a writer first looks for a file
to continue: the newest of its directory that is not *sealed*. A file is sealed when it has reached
``max_bytes``, when it was started on an earlier UTC day (its name's stamp: files stay findable by
date), when its name is not a writer's (``consolidate`` output), or when its tail is not one whole
record (a torn tail left by a killed run is never appended after: ``verify`` keeps reporting it).
A file another writer holds is skipped, never shared: a second concurrent run starts a file of its
own. Each run writes its own ``warcinfo`` record where it starts writing (a file may hold several),
and every record it writes names that record in ``WARC-Warcinfo-ID``.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from storage.records import Exchange, RecordLocation
from storage.store import WORKER_NAME
from storage.warcread import tail_is_complete
from storage.warcrecord import (
    BuiltRecord,
    RecordHead,
    digest_label,
    document_record,
    http_head,
    request_record,
    response_record,
    revisit_record,
    status_line,
)

try:  # ISA-L's deflate: the same gzip format, several times faster (optional: zlib otherwise)
    from isal import isal_zlib
except ImportError:  # pragma: no cover - a platform without its wheel
    isal_zlib = None  # type: ignore[assignment]

ISAL_MAX_LEVEL = 3  # ISA-L has levels 0 to 3

__all__ = ["CAPTURE_URN", "REVISIT_METADATA", "TEXT_URN", "WarcFileWriter", "digest_label", "file_day",
           "full_record_id", "lock_file", "metadata_uri", "new_record_id", "short_record_id", "warc_date",
           "warcinfo_member"]

Clock = Callable[[], datetime]

# The WARC-Target-URI of collector's own ``metadata`` records: a ``urn:`` naming the page, never the page
# URL itself. Replay tools (pywb, ReplayWeb.page) index metadata records under their target URI, and a
# JSON record at the page's URL and date would be replayed instead of the page (issue 13); browsertrix-
# crawler names its page records ``urn:pageinfo:<url>`` for the same reason. The record is tied to the
# capture by WARC-Refers-To (and WARC-Concurrent-To, for the outcome written with the capture).
# (Files written before issue 13 have the page URL as the target: readers find metadata records by
# offset, never by target URI, so both forms read the same.)
CAPTURE_URN = "urn:collector:capture:"  # the outcome of one fetch attempt (outcome, reason, context)
TEXT_URN = "urn:collector:text:"  # the text extracted from a capture's payload
_URNS = (CAPTURE_URN, TEXT_URN)


# A warcinfo field of the files written since issue 18: in them, a revisit without a capture metadata
# record of its own has its original's TLS and proxy (``storage.archive`` writes one otherwise), and
# reindex takes them from the original. (Older files: such a revisit was a plain http fetch.)
REVISIT_METADATA = {"revisit-metadata": "when-new"}


def metadata_uri(prefix: str, url: str) -> str:
    """The target URI of a metadata record about ``url``: ``prefix`` (``CAPTURE_URN``, ``TEXT_URN``)
    followed by the URL."""
    assert prefix in _URNS, prefix
    return prefix + url


def new_record_id() -> str:
    """A fresh ``<urn:uuid:...>`` WARC-Record-ID: a random (version 4) UUID, as ``uuid.uuid4()``
    makes one but without its object (a third of the time; 3 to 4 per capture)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"<urn:uuid:{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}>"


def short_record_id(record_id: str) -> str:
    """``<urn:uuid:X>`` as ``X`` (any other form of id is kept whole); see ``full_record_id``."""
    if record_id.startswith("<urn:uuid:") and record_id.endswith(">"):
        return record_id[10:-1]
    return record_id


def full_record_id(short: str) -> str:
    """The WARC-Record-ID that ``short_record_id`` shortened."""
    return short if short.startswith("<") else f"<urn:uuid:{short}>"


def warc_date(moment: datetime) -> str:
    """WARC 1.1 date with microseconds (none when they are 0, as warcio writes it), UTC."""
    return moment.astimezone(UTC).isoformat()[:-6] + "Z"  # without its "+00:00"


class _Sha256Writer(WARCWriter):  # type: ignore[misc]
    """warcio's writer with sha256 instead of sha1 digests."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")

    def ensure_digest(self, record: Any, block: bool = True, payload: bool = True) -> None:
        """warcio's, minus the payload digest of a request without a body (it says nothing)."""
        if record.rec_type == "request" and not getattr(record, "payload_length", None):
            payload = False
        super().ensure_digest(record, block=block, payload=payload)


def _compress(data: bytes, level: int) -> bytes:
    """``data`` as one gzip member at ``level`` (1 to 9, as zlib's).

    Levels 1 to 3 use Intel's ISA-L (python-isal) when it is installed: on HTML it writes the same
    standard gzip ~2.7x faster than zlib at level 3, and a slightly smaller file (its level 3 against
    zlib's). Levels 4 to 9 ask for smaller files and use zlib.
    """
    if level <= ISAL_MAX_LEVEL and isal_zlib is not None:
        return isal_zlib.compress(data, level, isal_zlib.MAX_WBITS + 16)
    return zlib.compress(data, level, zlib.MAX_WBITS + 16)


class _GzipStream:
    """A record read from a stream (``write_resource_stream``) as one gzip member at a chosen level,
    compressed as it comes: a stream of any size never sits whole in memory. (Every other record is
    compressed whole in one call, ``_compress``: each call releases the GIL and must win it back, so
    fewer calls mean less waiting. warcio's own wrapper would use zlib level 9, which costs ~50% more
    CPU than level 6 for a ~0.5% smaller file.)"""

    def __init__(self, out: _BatchFile, level: int) -> None:
        self.out = out
        lib: Any = isal_zlib if level <= ISAL_MAX_LEVEL and isal_zlib is not None else zlib
        self.compressor = lib.compressobj(level, lib.DEFLATED, lib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self.out.write(self.compressor.compress(data))

    def flush(self) -> None:
        self.out.write(self.compressor.flush())


class _BatchFile:
    """An append-only file whose writes are gathered in memory (up to ``limit`` bytes) and written
    together at ``flush``: ``WarcFileWriter.sync`` flushes before its fsync, so nothing that a
    committed row points at is ever only in memory."""

    def __init__(self, raw: BinaryIO, limit: int = 4 * 2**20) -> None:
        self.raw = raw
        self.limit = limit
        self.parts: list[bytes] = []
        self.pending = 0
        self.position = raw.tell()

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        self.pending += len(data)
        self.position += len(data)
        if self.pending >= self.limit:
            self.flush()
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        if self.parts:
            self.raw.write(b"".join(self.parts) if len(self.parts) > 1 else self.parts[0])
            self.parts, self.pending = [], 0
        self.raw.flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        self.flush()
        self.raw.close()


def warcinfo_member(filename: str, fields: dict[str, str], *, record_id: str, date: str,
                    gzip_level: int = 6) -> bytes:
    """A ``warcinfo`` record for file ``filename``, as the gzip member a file holds: ``fields`` in
    its block, the given WARC-Record-ID and WARC-Date (consolidation rewrites a warcinfo record for
    its new file this way, keeping the id that records point at)."""
    out = io.BytesIO()
    writer = _Sha256Writer(out, gzip=False, warc_version="1.1")
    record = writer.create_warcinfo_record(filename, fields)
    record.rec_headers.replace_header("WARC-Record-ID", record_id)
    record.rec_headers.replace_header("WARC-Date", date)
    writer._write_warc_record(out, record)
    return _compress(out.getvalue(), gzip_level)


def _response_head(exchange: Exchange) -> bytes:
    """The response's status line and headers as stored. The body is stored de-chunked (Twisted
    removes the chunking): Transfer-Encoding is kept under another name so that replay tools do not
    try to de-chunk it again."""
    headers = [("X-Archive-Orig-Transfer-Encoding", value)
               if len(name) == 17 and name.lower() == "transfer-encoding" else (name, value)
               for name, value in exchange.response_headers]
    line = f"{exchange.protocol or 'HTTP/1.1'} {status_line(exchange.status or 0, exchange.reason_phrase)}"
    return http_head(line, headers)


def _name_pattern(prefix: str, worker: str | None = "") -> re.Pattern[str]:
    """The names a writer gives its files: ``<prefix>-<UTC stamp, 20 digits>[-<worker>]-<pid>-<serial>
    .warc.gz`` (issue 16: the worker's name keeps the writers of a shared store apart; files written
    before have none). ``worker``: that worker's files only ("": the files without a worker name);
    None: any writer's."""
    middle = f"-{re.escape(worker)}" if worker else ""
    if worker is None:
        middle = f"(?:-{WORKER_NAME.pattern})?"
    return re.compile(re.escape(prefix) + r"-(\d{8})\d{12}" + middle + r"-\d+-\d{5}\.warc\.gz")


def file_day(name: str, prefix: str = "collector") -> str | None:
    """The UTC day (``YYYYMMDD``) a writer (any worker) started file ``name`` on; None for a name no
    writer gives (e.g. a consolidated file)."""
    match = _name_pattern(prefix, None).fullmatch(name)
    return match.group(1) if match else None


def lock_file(raw: BinaryIO, path: Path, *, wait: bool = False) -> bool:
    """Take the exclusive ``flock`` of the open WARC file ``raw`` at ``path``: False when another
    process holds it (``wait``: wait for it instead) or when ``path`` is no longer that file (it was
    removed or replaced meanwhile: such a lock guards nothing)."""
    try:
        fcntl.flock(raw.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    try:
        same = os.stat(path).st_ino == os.fstat(raw.fileno()).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        fcntl.flock(raw.fileno(), fcntl.LOCK_UN)
    return same


class WarcFileWriter:
    """Append-only, rotating WARC writer for one directory."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 1024**3,
        prefix: str = "collector",
        software: str = "collector",
        clock: Clock | None = None,
        record_id: Callable[[], str] = new_record_id,
        info: dict[str, str] | None = None,
        gzip_level: int = 6,
        append: bool = False,
        worker: str = "",
        on_close: Callable[[str], None] | None = None,
    ) -> None:
        if worker and not WORKER_NAME.fullmatch(worker):
            raise ValueError(f"worker name {worker!r} cannot be part of a WARC file name "
                             f"(letters, digits, '.', '_', '-'; not 'merged'): see worker_label")
        self.directory = Path(directory)
        self.worker = worker
        self.on_close = on_close
        self.append = append
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.software = software
        self.clock = clock or (lambda: datetime.now(UTC))
        self.record_id = record_id
        self.info = info or {}
        self.gzip_level = gzip_level
        self._fh: _BatchFile | None = None
        self._name: str | None = None
        self._serial = 0
        self._warcinfo_id: str | None = None

    # -- files ---------------------------------------------------------------------------------
    @property
    def current_file(self) -> str | None:
        """Name of the file being written, if one is open."""
        return self._name

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        opened = self._reopen() if self.append else None
        if opened is None:
            opened = self._create()
        raw, name = opened
        self._fh = _BatchFile(raw)
        self._name = name
        info = {"software": self.software, "format": "WARC File Format 1.1",
                "conformsTo": "https://iso.org/standard/68004.html", **REVISIT_METADATA, **self.info}
        self._warcinfo_id = self.record_id()
        self._fh.write(warcinfo_member(name, info, record_id=self._warcinfo_id,
                                       date=warc_date(self.clock()), gzip_level=self.gzip_level))

    def _create(self) -> tuple[BinaryIO, str]:
        """A new file, locked before anything is in it."""
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
        while True:
            self._serial += 1
            who = f"-{self.worker}" if self.worker else ""
            name = f"{self.prefix}-{stamp}{who}-{os.getpid()}-{self._serial:05d}.warc.gz"
            path = self.directory / name
            try:
                raw = open(path, "xb")  # noqa: SIM115 - kept open across calls
            except FileExistsError:
                continue
            # another writer may be looking at it (and will find it empty): wait for it
            if lock_file(raw, path, wait=True):
                return raw, name
            raw.close()  # removed meanwhile: take another name

    def _reopen(self) -> tuple[BinaryIO, str] | None:
        """The newest unsealed file of the directory that no other writer holds, locked and
        positioned at its end; None when there is none."""
        pattern = _name_pattern(self.prefix, self.worker)  # never another worker's file
        today = self.clock().astimezone(UTC).strftime("%Y%m%d")
        start = f"{self.prefix}-{today}"
        with os.scandir(self.directory) as entries:
            names = sorted((e.name for e in entries if e.name.startswith(start)), reverse=True)
        for name in names:
            if not pattern.fullmatch(name):
                continue
            path = self.directory / name
            try:
                raw = open(path, "r+b")  # noqa: SIM115 - kept open across calls
            except OSError:
                continue
            try:
                if lock_file(raw, path):
                    size = raw.seek(0, 2)
                    if size < self.max_bytes and tail_is_complete(raw):
                        raw.seek(size)
                        return raw, name
            except OSError:
                pass
            raw.close()  # closing drops the lock
        return None

    def _ensure_open(self) -> _BatchFile:
        if self._fh is None or self._fh.tell() >= self.max_bytes:
            self.close()
            self._open()
        assert self._fh is not None
        return self._fh

    def sync(self) -> None:
        """Flush and fsync the current file: after this, every record written so far is durable."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Sync and close the current file (at rotation too), then call ``on_close`` with its name
        (the store uploads it: ``storage.store``)."""
        name = self._name
        if self._fh is not None:
            self.sync()
            self._fh.close()
        self._fh = None
        self._name = None
        self._warcinfo_id = None
        if name is not None and self.on_close is not None:
            self.on_close(name)

    # -- records -------------------------------------------------------------------------------
    def _head(self, uri: str, moment: datetime) -> RecordHead:
        """The head of the next record: the file it goes to is opened (or rotated) first, so the
        record names that file's warcinfo record."""
        self._ensure_open()
        return RecordHead(record_id=self.record_id(), date=warc_date(moment), target_uri=uri,
                          warcinfo_id=self._warcinfo_id)

    def _write(self, record: BuiltRecord) -> RecordLocation:
        """Append ``record`` as one gzip member of the current file (opened by ``_head``)."""
        fh, name = self._fh, self._name
        assert fh is not None and name is not None
        start = fh.tell()
        fh.write(_compress(record.data, self.gzip_level))
        head = record.head
        return RecordLocation(warc_file=name, offset=start, length=fh.tell() - start,
                              record_type=record.record_type, record_id=head.record_id,
                              target_uri=head.target_uri, date=head.date,
                              block_digest=record.block_digest)

    def write_exchange(
        self, exchange: Exchange, *, revisit_of: RecordLocation | None = None,
        revisit_date: str | None = None, payload_digest: str | None = None,
    ) -> tuple[RecordLocation | None, RecordLocation]:
        """Write the response (or revisit) record of one exchange, then its request record.

        Returns (response_or_revisit_location, request_location); the first is None when no response
        was received (only the request is written then).
        """
        moment = exchange.requested_at
        response_loc: RecordLocation | None = None
        if exchange.status is not None:
            http = _response_head(exchange)
            head = self._head(exchange.url, moment)
            if revisit_of is not None:
                assert payload_digest and revisit_date
                record = revisit_record(
                    head, http, refers_to=revisit_of.record_id, refers_to_uri=revisit_of.target_uri,
                    refers_to_date=revisit_date, payload_digest=payload_digest,
                    ip_address=exchange.ip_address, truncated=exchange.truncated)
            else:
                record = response_record(head, http, exchange.body, ip_address=exchange.ip_address,
                                         truncated=exchange.truncated, payload_digest=payload_digest)
            response_loc = self._write(record)
        line = f"{exchange.method} {_request_target(exchange.url)} HTTP/1.1"
        request = request_record(self._head(exchange.url, moment),
                                 http_head(line, exchange.request_headers), exchange.request_body,
                                 concurrent_to=response_loc.record_id if response_loc else None)
        return response_loc, self._write(request)

    def write_resource(self, uri: str, body: bytes, *, content_type: str, moment: datetime,
                       concurrent_to: str | None = None) -> RecordLocation:
        """Write a ``resource`` record (a document that was not fetched over HTTP, e.g. a report file,
        or a browser capture's screenshot: ``concurrent_to`` is then the page response's record ID)."""
        return self._write(document_record("resource", self._head(uri, moment), body, content_type,
                                           ("WARC-Concurrent-To", concurrent_to)))

    def write_resource_stream(self, uri: str, stream: BinaryIO, length: int, *, content_type: str,
                              moment: datetime, payload_digest: str | None = None) -> RecordLocation:
        """Write a ``resource`` record whose body is read from ``stream`` (seekable; ``length`` bytes),
        e.g. a downloaded media file: its size need not fit in memory (warcio writes it, in pieces)."""
        head = self._head(uri, moment)
        fh, name = self._fh, self._name
        assert fh is not None and name is not None
        headers = dict(head.fields(("WARC-Payload-Digest", payload_digest)))
        headers["Content-Type"] = content_type
        writer = _Sha256Writer(fh, gzip=False, warc_version="1.1")
        record = writer.create_warc_record(uri, "resource", payload=stream, length=length,
                                           warc_content_type=content_type, warc_headers_dict=headers)
        start = fh.tell()
        writer._write_warc_record(_GzipStream(fh, self.gzip_level), record)
        return RecordLocation(warc_file=name, offset=start, length=fh.tell() - start,
                              record_type="resource", record_id=head.record_id,
                              target_uri=head.target_uri, date=head.date,
                              block_digest=record.rec_headers.get_header("WARC-Block-Digest") or "")

    def write_metadata(self, uri: str, content: dict[str, Any], *, moment: datetime,
                       refers_to: str | None = None, concurrent_to: str | None = None
                       ) -> RecordLocation:
        """Write a ``metadata`` record holding ``content`` as JSON.

        ``uri`` is its WARC-Target-URI: for a record about a page, ``metadata_uri(...)`` of the page's
        URL, so that replay tools do not take the record for the page. ``refers_to`` is the
        WARC-Record-ID of the record it describes, ``concurrent_to`` that of a record of the same
        capture event.
        """
        body = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return self._write(document_record("metadata", self._head(uri, moment), body,
                                           "application/json", ("WARC-Refers-To", refers_to),
                                           ("WARC-Concurrent-To", concurrent_to)))


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target
