"""Parsing the times users type: ISO-8601 or 14-digit web-archive timestamps, always to UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from collector.errors import InputError

__all__ = ["parse_time"]

_DIGITS = re.compile(r"^\d{4,14}$")


def parse_time(text: str) -> datetime:
    """``2025-06-03``, ``2025-06-03T10:00:00+02:00``, ``...Z`` or ``20250603100000`` -> aware UTC.

    A time without a zone is taken as UTC. A partial 14-digit timestamp is padded with the earliest
    values (``2025`` is 2025-01-01T00:00:00Z), as web archives do.
    """
    value = text.strip()
    if _DIGITS.match(value):
        padded = value + "0101000000"[len(value) - 4:]
        try:
            return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError as exc:
            raise InputError(f"{text!r} is not a valid timestamp: {exc}") from exc
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise InputError(f"{text!r} is not an ISO-8601 time (try 2025-06-03 or "
                         "2025-06-03T10:00:00Z)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
