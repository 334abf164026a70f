"""Memento (RFC 7089) as pure functions: archive timestamps, HTTP dates, memento selection, the ``Link``
header and TimeMaps (link-format and JSON).

Selection follows the same rule as ``storage.queries.closest_capture``: the capture closest to the wanted
time, ties going to the earlier one; no wanted time means the latest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from collector.errors import InputError
from storage.timefmt import iso_z

__all__ = [
    "ArchiveUrls",
    "Memento",
    "exact_index",
    "http_date",
    "link_header",
    "parse_http_date",
    "parse_timestamp",
    "select_index",
    "timemap_json",
    "timemap_link",
    "ts14",
]



class Memento(Protocol):
    """What these functions read of a capture (``storage.queries.MementoRef`` or a CaptureRecord)."""

    @property
    def captured_at(self) -> datetime: ...  # pragma: no cover

    @property
    def http_status(self) -> int | None: ...  # pragma: no cover

    @property
    def sha256(self) -> str | None: ...  # pragma: no cover


_DIGITS = re.compile(r"^\d{1,14}$")
# RFC 1123 (as RFC 7089 requires for Accept-Datetime): "Sun, 06 Nov 1994 08:49:37 GMT"
_RFC1123 = re.compile(r"^[A-Z][a-z]{2}, (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) "
                      r"(GMT|UTC|[+-]\d{4})$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}


def ts14(moment: datetime) -> str:
    """The 14-digit archive timestamp (UTC, seconds) of ``moment``."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_timestamp(digits: str) -> datetime:
    """A 1- to 14-digit archive timestamp as UTC; missing digits are the earliest values (``2025`` is
    2025-01-01T00:00:00Z). Raises InputError for anything else."""
    if not _DIGITS.match(digits):
        raise InputError(f"{digits!r} is not an archive timestamp (1 to 14 digits, YYYYMMDDhhmmss)")
    padded = digits + "00000101000000"[len(digits):]
    try:
        return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"{digits!r} is not a valid archive timestamp: {exc}") from exc


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


def exact_index(mementos: Sequence[Memento], digits: str) -> int | None:
    """Index of the first memento whose 14-digit timestamp is ``digits``, if any."""
    if len(digits) != 14:
        return None
    return next((i for i, m in enumerate(mementos) if ts14(m.captured_at) == digits), None)


@dataclass(frozen=True)
class ArchiveUrls:
    """Absolute URLs of this archive's Memento resources (``base`` has no trailing slash)."""

    base: str

    def memento(self, moment: datetime, url: str, modifier: str = "") -> str:
        """URI-M: ``BASE/web/YYYYMMDDhhmmss/URL`` (``id_`` raw, ``if_`` framed content)."""
        return f"{self.base}/web/{ts14(moment)}{modifier}/{url}"

    def timegate(self, url: str) -> str:
        """URI-G."""
        return f"{self.base}/timegate/{url}"

    def timemap(self, url: str, fmt: str = "link") -> str:
        """URI-T (``link`` or ``json``)."""
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
    for index in sorted(rels):
        names = sorted(rels[index], key=order.index)
        memento = mementos[index]
        parts.append(_link(urls.memento(memento.captured_at, original), " ".join([*names, "memento"]),
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
    last = len(mementos) - 1
    for i, memento in enumerate(mementos):
        rel = " ".join([*(["first"] if i == 0 else []), *(["last"] if i == last else []), "memento"])
        lines.append(_link(urls.memento(memento.captured_at, original), rel,
                           datetime=http_date(memento.captured_at)))
    return ",\n".join(lines) + "\n"


def timemap_json(urls: ArchiveUrls, original: str, mementos: Sequence[Memento]) -> dict[str, Any]:
    """The TimeMap as JSON (the Memento aggregator's shape, plus collector's sha256 per memento)."""
    entries = [{"datetime": iso_z(m.captured_at, timespec="seconds"),
                "uri": urls.memento(m.captured_at, original), "http_status": m.http_status,
                "sha256": m.sha256} for m in mementos]
    return {
        "original_uri": original,
        "timegate_uri": urls.timegate(original),
        "timemap_uri": {"link_format": urls.timemap(original), "json_format": urls.timemap(original, "json")},
        "mementos": {"first": entries[0], "last": entries[-1], "list": entries},
    }
