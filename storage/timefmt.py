"""How collector writes a moment as text: ISO-8601 in UTC with a ``Z`` (``2025-06-03T10:00:00.123456Z``).

Every JSON field, log line and export that carries a time uses ``iso_z``, so the CLI, the HTTP API and the
files collector writes all spell times the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, overload

__all__ = ["iso_z"]

Timespec = Literal["auto", "seconds"]


@overload
def iso_z(moment: datetime, *, timespec: Timespec = "auto") -> str: ...


@overload
def iso_z(moment: None, *, timespec: Timespec = "auto") -> None: ...


@overload
def iso_z(moment: datetime | None, *, timespec: Timespec = "auto") -> str | None: ...


def iso_z(moment: datetime | None, *, timespec: Timespec = "auto") -> str | None:
    """``moment`` in UTC as ISO-8601 with ``Z``; ``None`` for ``None``.

    ``timespec="auto"`` keeps microseconds when there are any (``10:00:00.123456Z``, else ``10:00:00Z``);
    ``"seconds"`` drops them (``10:00:00Z``: Memento, WACZ and warcinfo dates).
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
