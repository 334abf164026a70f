"""Memento (RFC 7089) as pure functions: archive timestamps, HTTP dates, memento selection, the ``Link``
header and TimeMaps (link-format and JSON).

Selection follows the same rule as ``storage.queries.closest_capture``: the capture closest to the wanted
time, ties going to the earlier one; no wanted time means the latest.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from collector.errors import InputError
from storage.timefmt import iso_z

__all__ = [
    "CDX_FIELDS",
    "ArchiveUrls",
    "CdxMemento",
    "Memento",
    "cdx_fields",
    "find_index",
    "http_date",
    "last_moment",
    "link_header",
    "parse_http_date",
    "parse_timestamp",
    "select_index",
    "sha256_label",
    "timemap_cdxj",
    "timemap_json",
    "timemap_link",
    "ts14",
    "ts20",
    "uri_stamps",
]



class Memento(Protocol):
    """What these functions read of a capture (``storage.queries.MementoRef`` or a CaptureRecord)."""

    @property
    def captured_at(self) -> datetime: ...  # pragma: no cover

    @property
    def http_status(self) -> int | None: ...  # pragma: no cover

    @property
    def sha256(self) -> str | None: ...  # pragma: no cover


_DIGITS = re.compile(r"^\d{1,20}$")
# RFC 1123 (as RFC 7089 requires for Accept-Datetime): "Sun, 06 Nov 1994 08:49:37 GMT"
_RFC1123 = re.compile(r"^[A-Z][a-z]{2}, (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) "
                      r"(GMT|UTC|[+-]\d{4})$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}


def ts14(moment: datetime) -> str:
    """The 14-digit archive timestamp (UTC, seconds) of ``moment``."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def ts20(moment: datetime) -> str:
    """The 20-digit archive timestamp (UTC, microseconds: ``YYYYMMDDhhmmssffffff``), as pywb writes
    for captures that share a second."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")


def uri_stamps(mementos: Sequence[Memento]) -> list[str]:
    """The timestamp of each memento's URI-M (``mementos`` oldest first): the 14-digit second for the
    first memento of its second, the 20-digit form (with microseconds) for any later one in the same
    second, so that every memento has a URI-M of its own and the 14-digit URI-Ms made before stay
    what they were."""
    seen: set[str] = set()
    out = []
    for m in mementos:
        second = ts14(m.captured_at)
        out.append(ts20(m.captured_at) if second in seen else second)
        seen.add(second)
    return out


def parse_timestamp(digits: str) -> datetime:
    """A 1- to 20-digit archive timestamp as UTC; missing digits are the earliest values (``2025`` is
    2025-01-01T00:00:00Z; digits after the 14th are the fraction of the second). Raises InputError for
    anything else."""
    if not _DIGITS.match(digits):
        raise InputError(f"{digits!r} is not an archive timestamp (1 to 20 digits, "
                         "YYYYMMDDhhmmss[ffffff])")
    padded = digits + "00000101000000000000"[len(digits):]
    try:
        return datetime.strptime(padded, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"{digits!r} is not a valid archive timestamp: {exc}") from exc


def last_moment(digits: str) -> datetime:
    """The last moment a 1- to 20-digit timestamp prefix covers (``2014`` is the end of 2014), as a
    CDX server's ``to`` reads it; a prefix that ends inside a field counts up to that field's end
    (``20141`` is the end of 2014). Raises InputError for anything else."""
    first = parse_timestamp(digits)
    if len(digits) > 14:
        return first.replace(microsecond=int(digits[14:].ljust(6, "9")))
    width = max(w for w in (4, 6, 8, 10, 12, 14) if w <= max(len(digits), 4))
    start = parse_timestamp(digits[:width])
    if width == 4:
        after = start.replace(year=start.year + 1)
    elif width == 6:
        after = (start.replace(year=start.year + 1, month=1) if start.month == 12
                 else start.replace(month=start.month + 1))
    else:
        after = start + timedelta(seconds={8: 86400, 10: 3600, 12: 60, 14: 1}[width])
    return after - timedelta(microseconds=1)


def http_date(moment: datetime) -> str:
    """RFC 1123 date in GMT, as Memento-Datetime and the ``datetime`` link attribute use (the format of
    ``email.utils.format_datetime(..., usegmt=True)``, written out: it is on every Memento response)."""
    m = moment.astimezone(UTC)
    return (f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year:04d} "
            f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} GMT")


def parse_http_date(value: str) -> datetime:
    """Parse an ``Accept-Datetime`` value (RFC 1123); raises InputError when it is not one."""
    text = " ".join(value.split())
    match = _RFC1123.match(text)
    if not match or match.group(2) not in _MONTH_NUMBERS:
        raise InputError(f"Accept-Datetime {value!r} is not an RFC 1123 date "
                         "(like 'Tue, 03 Jun 2025 10:00:00 GMT')")
    day, month, year, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), _MONTH_NUMBERS[month], int(day), int(hour), int(minute),
                          int(second), tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"Accept-Datetime {value!r} is not a valid date") from exc
    if zone[0] in "+-":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        moment = moment - offset if zone[0] == "+" else moment + offset
    return moment


def select_index(mementos: Sequence[Memento], at: datetime | None) -> int:
    """Index of the memento closest to ``at`` (ties: the earlier one); ``at`` None: the latest.

    ``mementos`` must be oldest first and not empty.
    """
    if not mementos:
        raise ValueError("no mementos to choose from")
    if at is None:
        return len(mementos) - 1
    return min(range(len(mementos)),
               key=lambda i: (abs((mementos[i].captured_at - at).total_seconds()),
                              mementos[i].captured_at, i))


def find_index(mementos: Sequence[Memento], stamps: Sequence[str], digits: str) -> int | None:
    """Index of the memento ``digits`` names exactly: its URI-M timestamp (``stamps``, from
    ``uri_stamps``), or any memento's full 20-digit timestamp; None when none does."""
    if digits in stamps:
        return stamps.index(digits)
    if len(digits) == 20:
        return next((i for i, m in enumerate(mementos) if ts20(m.captured_at) == digits), None)
    return None


@dataclass(frozen=True)
class ArchiveUrls:
    """Absolute URLs of this archive's Memento resources (``base`` has no trailing slash)."""

    base: str

    def memento(self, stamp: str, url: str, modifier: str = "") -> str:
        """URI-M: ``BASE/web/{stamp}/URL`` (``stamp`` from ``uri_stamps``; ``id_`` raw, ``if_`` framed
        content)."""
        return f"{self.base}/web/{stamp}{modifier}/{url}"

    def timegate(self, url: str) -> str:
        """URI-G."""
        return f"{self.base}/timegate/{url}"

    def timemap(self, url: str, fmt: str = "link") -> str:
        """URI-T (``link``, ``json`` or ``cdxj``)."""
        return f"{self.base}/timemap/{fmt}/{url}"


def _link(uri: str, rel: str, **attrs: str) -> str:
    extra = "".join(f'; {k}="{v}"' for k, v in attrs.items())
    return f'<{uri}>; rel="{rel}"{extra}'


def link_header(urls: ArchiveUrls, original: str, mementos: Sequence[Memento],
                selected: int | None, *, timegate: bool = True) -> str:
    """The ``Link`` header of a TimeGate or memento response: original, timegate, timemap, and the
    first, last, prev and next mementos around ``selected`` (which is itself ``rel="memento"``).
    Rels of one URI are combined (``rel="first memento"``)."""
    parts = [_link(original, "original")]
    if timegate:
        parts.append(_link(urls.timegate(original), "timegate"))
    if mementos:
        parts.append(_link(urls.timemap(original), "timemap", type="application/link-format",
                           **{"from": http_date(mementos[0].captured_at),
                              "until": http_date(mementos[-1].captured_at)}))
    else:
        parts.append(_link(urls.timemap(original), "timemap", type="application/link-format"))
    rels: dict[int, list[str]] = {}
    if mementos:
        rels.setdefault(0, []).append("first")
        rels.setdefault(len(mementos) - 1, []).append("last")
        if selected is not None:
            if selected > 0:
                rels.setdefault(selected - 1, []).append("prev")
            if selected < len(mementos) - 1:
                rels.setdefault(selected + 1, []).append("next")
            rels.setdefault(selected, [])
    order = ("first", "last", "prev", "next")
    stamps = uri_stamps(mementos)
    for index in sorted(rels):
        names = sorted(rels[index], key=order.index)
        memento = mementos[index]
        parts.append(_link(urls.memento(stamps[index], original), " ".join([*names, "memento"]),
                           datetime=http_date(memento.captured_at)))
    return ", ".join(parts)


def timemap_link(urls: ArchiveUrls, original: str, mementos: Sequence[Memento]) -> str:
    """The TimeMap in ``application/link-format`` (RFC 7089 section 5.1.1), one entry a line."""
    lines = [
        _link(original, "original"),
        _link(urls.timemap(original), "self", type="application/link-format",
              **{"from": http_date(mementos[0].captured_at),
                 "until": http_date(mementos[-1].captured_at)}),
        _link(urls.timemap(original, "json"), "timemap", type="application/json"),
        _link(urls.timegate(original), "timegate"),
    ]
    listed = _listed(mementos)
    last = len(listed) - 1
    for i, (stamp, memento) in enumerate(listed):
        rel = " ".join([*(["first"] if i == 0 else []), *(["last"] if i == last else []), "memento"])
        lines.append(_link(urls.memento(stamp, original), rel, datetime=http_date(memento.captured_at)))
    return ",\n".join(lines) + "\n"


_M = TypeVar("_M", bound=Memento)


def _listed(mementos: Sequence[_M]) -> list[tuple[str, _M]]:
    """(URI-M timestamp, memento) of each memento a TimeMap lists: one URI-M is never listed twice
    (two mementos of one URL at the very same microsecond: the first is listed)."""
    seen: set[str] = set()
    out = []
    for stamp, memento in zip(uri_stamps(mementos), mementos, strict=True):
        if stamp not in seen and ts20(memento.captured_at) not in seen:
            out.append((stamp, memento))
        seen.update((stamp, ts20(memento.captured_at)))
    return out


def timemap_json(urls: ArchiveUrls, original: str, mementos: Sequence[Memento]) -> dict[str, Any]:
    """The TimeMap as JSON (the Memento aggregator's shape, plus collector's sha256 per memento)."""
    entries = [{"datetime": iso_z(m.captured_at, timespec="seconds"),
                "uri": urls.memento(stamp, original), "http_status": m.http_status,
                "sha256": m.sha256} for stamp, m in _listed(mementos)]
    return {
        "original_uri": original,
        "timegate_uri": urls.timegate(original),
        "timemap_uri": {"link_format": urls.timemap(original), "json_format": urls.timemap(original, "json")},
        "mementos": {"first": entries[0], "last": entries[-1], "list": entries},
    }


def sha256_label(sha256_hex: str | None) -> str:
    """A sha256 as WARC-Payload-Digest writes it (``sha256:BASE32``); ``-`` when unknown."""
    if not sha256_hex:
        return "-"
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


class CdxMemento(Memento, Protocol):
    """What a CDX line reads of a memento (``storage.queries.MementoRef``)."""

    @property
    def url(self) -> str: ...  # pragma: no cover

    @property
    def url_key(self) -> str | None: ...  # pragma: no cover

    @property
    def content_type(self) -> str | None: ...  # pragma: no cover

    @property
    def warc_file(self) -> str | None: ...  # pragma: no cover

    @property
    def warc_offset(self) -> int | None: ...  # pragma: no cover

    @property
    def warc_length(self) -> int | None: ...  # pragma: no cover


CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length", "offset",
              "filename")


def cdx_fields(memento: CdxMemento, stamp: str) -> dict[str, str]:
    """The CDX fields of one memento (``CDX_FIELDS``, as the Wayback Machine and pywb name them);
    ``-`` for what is unknown. ``timestamp`` is its URI-M timestamp; the digest is its sha256."""
    mime = (memento.content_type or "").split(";", 1)[0].strip().lower()
    return {"urlkey": memento.url_key or "-", "timestamp": stamp, "original": memento.url,
            "mimetype": mime or "-",
            "statuscode": str(memento.http_status) if memento.http_status is not None else "-",
            "digest": sha256_label(memento.sha256),
            "length": str(memento.warc_length) if memento.warc_length is not None else "-",
            "offset": str(memento.warc_offset) if memento.warc_offset is not None else "-",
            "filename": memento.warc_file or "-"}


def timemap_cdxj(mementos: Sequence[CdxMemento]) -> str:
    """The TimeMap as CDXJ (``text/x-cdxj``, pywb's ``/timemap/cdxj/``): one line per memento,
    ``urlkey timestamp {"url", "mime", "status", "digest", "length", "offset", "filename"}``."""
    lines = []
    for stamp, memento in _listed(mementos):
        f = cdx_fields(memento, stamp)
        body = {"url": f["original"], "mime": f["mimetype"], "status": f["statuscode"],
                "digest": f["digest"], "length": f["length"], "offset": f["offset"],
                "filename": f["filename"]}
        lines.append(f"{f['urlkey']} {stamp} {json.dumps(body)}")
    return "".join(line + "\n" for line in lines)
