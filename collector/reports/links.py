"""Which capture a citation's archive link points at, and the public base URL of those links.

``choose_archived`` is the one decision every reader-facing link goes through (``report status``, its
exports and ``report robustify``): the capture a citation means is a *good* one (fetched, HTTP 2xx and
not judged a soft-404 by a check of it), the one closest to the citation's date when the citation has
one, else the latest. A citation whose captures are all errors (404, 403, 500, failed fetches) gets no
link and the problem ``only-error-captures``, so no reader is sent to an archived error page.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.config import Config
from storage.records import CaptureRecord

__all__ = [
    "LOCAL_BASE_URL",
    "ONLY_ERRORS",
    "ArchiveChoice",
    "archive_link",
    "archive_mark",
    "base_url_warning",
    "choose_archived",
    "citation_period",
    "is_good_capture",
    "resolve_base_url",
]

LOCAL_BASE_URL = "http://127.0.0.1:8080"  # what `collector serve` answers on by default
ONLY_ERRORS = "only-error-captures"


@dataclass(frozen=True)
class ArchiveChoice:
    """The capture to link for a citation (None: none to link) and why there is none."""

    capture: CaptureRecord | None
    problem: str | None = None  # None, or ONLY_ERRORS


def archive_link(base_url: str, url: str, captured_at: datetime) -> str:
    """The Memento URL of a capture (``BASE/web/YYYYMMDDhhmmss/URL``, as collector serve answers)."""
    return f"{base_url.rstrip('/')}/web/{captured_at.strftime('%Y%m%d%H%M%S')}/{url}"


def is_good_capture(capture: CaptureRecord, soft404: Collection[int] = ()) -> bool:
    """True for a fetched 2xx capture that no check judged a soft-404."""
    return (capture.outcome == "captured" and capture.http_status is not None
            and 200 <= capture.http_status < 300 and capture.id not in soft404)


def citation_period(date_iso: str | None) -> tuple[datetime, datetime] | None:
    """The span of time a citation's ISO date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) names, in UTC
    (start included, end excluded); None when there is no date or it is not one of those forms."""
    if not date_iso:
        return None
    parts = date_iso.strip().split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 1:
            start = datetime(numbers[0], 1, 1, tzinfo=UTC)
            return start, start.replace(year=start.year + 1)
        if len(numbers) == 2:
            start = datetime(numbers[0], numbers[1], 1, tzinfo=UTC)
            end = (start.replace(year=start.year + 1, month=1) if start.month == 12
                   else start.replace(month=start.month + 1))
            return start, end
        if len(numbers) == 3:
            start = datetime(numbers[0], numbers[1], numbers[2], tzinfo=UTC)
            return start, start + timedelta(days=1)
    except ValueError:
        return None
    return None


def choose_archived(captures: Sequence[CaptureRecord], *, soft404: Collection[int] = (),
                    date_iso: str | None = None) -> ArchiveChoice:
    """The capture a citation's archive link means (see the module docstring).

    ``soft404``: ids of captures a check judged soft-404; ``date_iso``: the citation's date. Among good
    captures, the one nearest the date's span wins (inside it counts as distance 0; ties go to the
    earlier); without a date, the latest.
    """
    good = sorted((c for c in captures if is_good_capture(c, soft404)),
                  key=lambda c: (c.captured_at, c.id))
    if not good:
        return ArchiveChoice(None, ONLY_ERRORS if captures else None)
    period = citation_period(date_iso)
    if period is None:
        return ArchiveChoice(good[-1])
    start, end = period

    def distance(c: CaptureRecord) -> float:
        if c.captured_at < start:
            return (start - c.captured_at).total_seconds()
        if c.captured_at >= end:
            return (c.captured_at - end).total_seconds()
        return 0.0

    return ArchiveChoice(min(good, key=lambda c: (distance(c), c.captured_at, c.id)))


def archive_mark(row: dict[str, Any]) -> str | None:
    """A short visible note for a ``report status`` row whose archive link is missing for a reason:
    ``only error captures (HTTP 404, failed: dns-error)``; None when there is nothing to say."""
    if row.get("archive_problem") != ONLY_ERRORS:
        return None
    seen: list[str] = []
    for capture in row.get("captures") or []:
        label = (f"HTTP {capture['http_status']}" if capture.get("http_status") is not None
                 else f"{capture['outcome']}: {capture.get('reason') or 'no response'}")
        if label not in seen:
            seen.append(label)
    return f"only error captures ({', '.join(seen)})" if seen else "only error captures"


def resolve_base_url(config: Config, base_url: str | None = None) -> tuple[str, bool]:
    """The base URL archive links use: ``base_url`` when given, else the ``public_base_url`` setting,
    else LOCAL_BASE_URL. The flag is True when it fell back to LOCAL_BASE_URL (links only this machine
    can follow)."""
    chosen = base_url or config.public_base_url
    return (chosen.rstrip("/"), False) if chosen else (LOCAL_BASE_URL, True)


def base_url_warning() -> str:
    """What to say when archive links fall back to LOCAL_BASE_URL."""
    return (f"warning: archive links point at {LOCAL_BASE_URL} (this machine only): set public_base_url "
            "(COLLECTOR_PUBLIC_BASE_URL) or give --base-url for links readers can follow")
