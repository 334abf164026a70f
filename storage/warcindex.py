"""What the records of WARC files say about captures (pure functions over parsed records).

The WARC files are the record of truth; this module reads them back into the events the database
indexes, for ``collector reindex`` (collector's own files) and ``collector import`` (files made by
other tools: wget, browsertrix, pywb, Heritrix). ``storage.reindex`` writes the rows.

How collector writes one fetch attempt (``storage.archive``): for each exchange of its redirect chain
a ``response`` (or ``revisit``) record and then its ``request`` record (a request alone when no
response came), then, unless the attempt is a plain page fetch, a ``metadata`` record whose target is
``urn:collector:capture:<url>`` (files written before issue 13: the page URL) with the outcome,
reason and redirect chain. Its text comes later as a ``metadata`` record ``urn:collector:text:<url>``
that refers to the response. A plain page fetch (one exchange, captured, nothing to explain) has no
outcome record, and neither has a response record of another tool: each becomes a ``captured`` row.
Nor has a revisit that says nothing new (a plain fetch but for its TLS and proxy, which are its
original's) in a file whose warcinfo has ``revisit-metadata: when-new`` (``storage.warcfile``):
reindex gives it its original's TLS and proxy columns.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.records import RecordLocation
from storage.warcfile import CAPTURE_URN, TEXT_URN
from storage.warcread import WarcRecord

__all__ = ["CaptureEvent", "Exchange", "FileRecord", "TextEvent", "group_records", "parse_warc_date",
           "payload_sha256", "run_info", "target_uri"]


@dataclass(frozen=True)
class FileRecord:
    """A parsed record and the name of the file it is in (relative to the WARC directory)."""

    warc_file: str
    record: WarcRecord

    @property
    def location(self) -> RecordLocation:
        """Where the record is, with its id, target and date."""
        h = self.record.headers
        return RecordLocation(warc_file=self.warc_file, offset=self.record.offset,
                              length=self.record.length, record_type=self.record.type,
                              record_id=h.get("WARC-Record-ID", ""),
                              target_uri=target_uri(h), date=h.get("WARC-Date", ""))


@dataclass
class Exchange:
    """One hop: its response (or revisit) record and its request record, either may be missing."""

    response: FileRecord | None = None
    request: FileRecord | None = None

    @property
    def url(self) -> str:
        """The hop's URL (the target of its records)."""
        some = self.response or self.request
        return target_uri(some.record.headers) if some else ""


@dataclass
class CaptureEvent:
    """One fetch attempt: its exchanges in order, and its outcome record (None: a plain page fetch)."""

    exchanges: list[Exchange]
    meta: FileRecord | None = None
    content: dict[str, Any] = field(default_factory=dict)  # the outcome record's JSON
    info: dict[str, str] = field(default_factory=dict)  # the warcinfo fields of its file
    # the resource record its outcome record refers to (a media download: storage.media)
    resource: FileRecord | None = None


@dataclass
class TextEvent:
    """An extracted-text record: the record and its JSON."""

    record: FileRecord
    content: dict[str, Any]


def target_uri(headers: dict[str, str], name: str = "WARC-Target-URI") -> str:
    """A record's target URI (``<...>`` around it removed: wget writes it so, after WARC 1.0's
    grammar)."""
    value = headers.get(name, "").strip()
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def parse_warc_date(value: str) -> datetime:
    """A WARC-Date (``2026-11-27T12:32:34.729720Z``, any precision) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def payload_sha256(label: str | None) -> str | None:
    """The hex sha256 a ``sha256:BASE32`` (or hex, or base64) digest label names; None for another
    algorithm."""
    if not label:
        return None
    algo, _, value = label.partition(":")
    if algo.lower().replace("-", "") != "sha256":
        return None
    value = value.strip()
    if len(value) == 64:
        return value.lower()
    try:
        raw = base64.b32decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 8))
    except ValueError:
        try:
            raw = base64.b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            return None
    return raw.hex() if len(raw) == 32 else None


def run_info(record: WarcRecord) -> dict[str, str]:
    """The ``key: value`` fields of a warcinfo record."""
    fields: dict[str, str] = {}
    for line in record.block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _json(record: WarcRecord) -> dict[str, Any] | None:
    try:
        content = json.loads(record.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _metadata_kind(record: WarcRecord) -> tuple[str, dict[str, Any]] | None:
    """("capture" | "text", JSON) of one of collector's metadata records, None for anything else."""
    target = target_uri(record.headers)
    if not record.headers.get("Content-Type", "").startswith("application/json"):
        return None
    content = _json(record)
    if content is None:
        return None
    if target.startswith(TEXT_URN) or content.get("type") == "extracted-text":
        return "text", content
    if target.startswith(CAPTURE_URN) or ("outcome" in content and "redirect_chain" in content):
        return "capture", content
    return None


def group_records(records: Iterable[FileRecord], skipped: dict[str, int]
                  ) -> Iterator[CaptureEvent | TextEvent]:
    """The capture and text events of a stream of records (the files in order), in order.

    Records that say nothing about a capture (warcinfo, resource, other metadata, a request without
    a response outside an attempt with an outcome record) are counted in ``skipped`` by type.
    """
    pending: list[Exchange] = []
    resource: FileRecord | None = None  # the last resource record, for the outcome record after it
    info: dict[str, str] = {}
    infos: dict[str, dict[str, str]] = {}

    def plain(exchanges: list[Exchange]) -> Iterator[CaptureEvent]:
        for exchange in exchanges:
            if exchange.response is None:
                skipped["request"] = skipped.get("request", 0) + 1
                continue
            yield CaptureEvent([exchange], info=infos.get(exchange.response.warc_file, {}))

    for item in records:
        record, kind = item.record, item.record.type
        headers = record.headers
        if kind == "warcinfo":
            info = run_info(record)
            infos[item.warc_file] = info
            skipped[kind] = skipped.get(kind, 0) + 1
        elif kind in ("response", "revisit") and record.http_head is None:
            # not an HTTP response (Heritrix's dns: records, a bare body): nothing to serve
            skipped[f"{kind} (not HTTP)"] = skipped.get(f"{kind} (not HTTP)", 0) + 1
        elif kind in ("response", "revisit"):
            if _settled(pending):
                yield from plain(pending)
                pending = []
            last = pending[-1] if pending else None
            if (last is not None and last.response is None and last.request is not None and (
                    last.request.record.headers.get("WARC-Concurrent-To") == headers.get("WARC-Record-ID")
                    or headers.get("WARC-Concurrent-To") == last.request.record.headers.get(
                        "WARC-Record-ID"))):
                last.response = item  # a request written before its response (wget)
            else:
                pending.append(Exchange(response=item))
        elif kind == "request":
            last = pending[-1] if pending else None
            if (last is not None and last.request is None and last.response is not None
                    and headers.get("WARC-Concurrent-To") in (None, "", last.response.record.headers.get(
                        "WARC-Record-ID")) and last.url == target_uri(headers)):
                last.request = item
            else:
                if _settled(pending):
                    yield from plain(pending)
                    pending = []
                pending.append(Exchange(request=item))
        elif kind == "metadata" and (found := _metadata_kind(record)) is not None:
            what, content = found
            if what == "text":
                yield TextEvent(item, content)
                continue
            count = len(content.get("redirect_chain") or [])
            cut = max(0, len(pending) - count)
            mine, before = pending[cut:], pending[:cut]
            pending = []
            yield from plain(before)
            owned = (resource if resource is not None and not mine and headers.get("WARC-Refers-To")
                     == resource.record.headers.get("WARC-Record-ID") else None)
            if owned is not None:
                skipped["resource"] -= 1
            yield CaptureEvent(mine, meta=item, content=content,
                               info=infos.get(item.warc_file, info), resource=owned)
        else:
            if kind == "resource":
                resource = item
            skipped[kind or "unknown"] = skipped.get(kind or "unknown", 0) + 1
    yield from plain(pending)


def _settled(pending: list[Exchange]) -> bool:
    """True when no outcome record can claim the pending exchanges any more: the last one is
    complete and not a redirect (an outcome record follows the final hop of its attempt at once)."""
    if not pending:
        return False
    last = pending[-1]
    if last.response is None or last.request is None:
        return False
    status = last.response.record.http_status
    return not (status is not None and 300 <= status < 400)


def body_sha256(record: WarcRecord) -> str:
    """The hex sha256 of a record's payload."""
    return hashlib.sha256(record.payload).hexdigest()
