"""What users type: times (ISO-8601 or 14-digit archive timestamps, always to UTC), durations, URL files."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from collector.errors import InputError

__all__ = ["parse_duration", "parse_time", "read_text_file", "read_url_file", "upload_name"]

_DIGITS = re.compile(r"^\d{4,14}$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.I)


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


def parse_duration(value: str | float) -> float:
    """``90s``, ``30m``, ``6h``, ``1d``, ``2w``, ``1h30m`` or a bare number of seconds -> seconds.

    Raises :class:`InputError` naming the value when it is not a positive duration.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise InputError(f"{value!r} is not a duration (examples: 90s, 30m, 6h, 1d, 1h30m)") from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise InputError(f"{value!r}: a duration must be positive")
    return seconds


def read_text_file(path: Path, what: str = "") -> str:
    """A UTF-8 text file the user named (a BOM is dropped); InputError naming ``what`` and the path."""
    name = f"{what} {path}" if what else str(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text") from exc


def read_url_file(path: Path) -> list[str]:
    """The URLs of a text file, one per line; blank lines and ``#`` comments are skipped."""
    text = read_text_file(path)
    urls = [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    if not urls:
        raise InputError(f"{path} has no URLs (one per line; # starts a comment)")
    return urls


def upload_name(filename: str) -> str | None:
    """The file name an upload is known by: the last part of the name the client sent (``/`` or
    ``\\`` separated), or None when that part is empty or only dots (never a path to follow)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return None if base.strip(".") == "" else base
