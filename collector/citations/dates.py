"""Dates as bibliographies write them ("September 19th 2013", "10 June 2021", "2021-06-10", "2019")."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FoundDate", "find_date", "find_year"]

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan enero ene gennaio gen janvier janv janeiro januar",
        "february feb febrero febbraio febr février fevrier févr fevereiro februar",
        "march mar marzo mars março marco märz maerz",
        "april apr abril aprile avril",
        "may mayo maggio mai maio",
        "june jun junio giugno juin junho juni",
        "july jul julio luglio lug juillet juil julho juli",
        "august aug agosto ago août aout agosto",
        "september sep sept septiembre setiembre settembre set septembre setembro",
        "october oct octubre ottobre ott octobre outubro oktober okt",
        "november nov noviembre novembre novembro",
        "december dec diciembre dic dicembre décembre decembre dezembro dezember dez",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)

# any word here; whether it names a month is checked against _MONTHS (faster than a 100-way alternation)
_MONTH = r"(?P<{g}>[^\W\d_]{{3,10}})\.?"
_DAY = r"(?P<{g}>[0-3]?\d)(?:st|nd|rd|th|º|°)?"
_YEAR = r"(?P<{g}>1[5-9]\d\d|20\d\d)"
_PATTERNS = [
    # 2021-06-10, 2021/06/10
    re.compile(r"\b(?P<y>1[5-9]\d\d|20\d\d)[-/.](?P<m>[01]?\d)[-/.](?P<d>[0-3]?\d)\b"),
    # September 19th 2013, June 10. 2021, October 21, 2024
    re.compile(
        r"\b" + _MONTH.format(g="mn") + r"\s+" + _DAY.format(g="d") + r"(?:\s*[,.])?\s+" + _YEAR.format(g="y")
        + r"\b", re.I,
    ),
    # 19 September 2013, 3 de mayo de 2023, 7th of December, 2021
    re.compile(
        r"\b" + _DAY.format(g="d") + r"\.?\s+(?:of\s+|de\s+)?" + _MONTH.format(g="mn")
        + r"(?:\s*,)?\s+(?:de\s+|del\s+)?" + _YEAR.format(g="y") + r"\b", re.I,
    ),
    # September 2013, mayo de 2023
    re.compile(r"\b" + _MONTH.format(g="mn") + r"(?:\s*,)?\s+(?:de\s+|del\s+)?" + _YEAR.format(g="y") + r"\b",
               re.I),
]
_HAS_YEAR = re.compile(r"1[5-9]\d\d|20\d\d")
_BARE_YEAR = re.compile(r"(?<![\w/.-])(1[5-9]\d\d|20\d\d)(?![\w/-])")


@dataclass(frozen=True)
class FoundDate:
    """A date found in text: as written, as ISO (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``), and its span."""

    written: str
    iso: str | None
    start: int
    end: int


def _iso(year: str, month: int | None, day: str | None) -> str | None:
    if month is None or not 1 <= month <= 12:
        return year
    if day is None:
        return f"{year}-{month:02d}"
    d = int(day)
    if not 1 <= d <= 31:
        return f"{year}-{month:02d}"
    return f"{year}-{month:02d}-{d:02d}"


def find_date(text: str) -> FoundDate | None:
    """The last full or month-year date in ``text``, else the last bare year; ``None`` if there is none."""
    if not _HAS_YEAR.search(text):
        return None
    best: FoundDate | None = None
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            if "mn" in groups:
                month: int | None = _MONTHS.get(groups["mn"].lower())
                if month is None:
                    continue
            else:
                month = int(groups["m"])
            iso = _iso(groups["y"], month, groups.get("d"))
            candidate = FoundDate(match.group().strip(), iso, match.start(), match.end())
            overlaps = best is not None and candidate.start < best.end and best.start < candidate.end
            if best is None or (candidate.start > best.start and not overlaps):
                best = candidate
        if best is not None:
            return best
    return find_year(text)


def find_year(text: str) -> FoundDate | None:
    """The last bare four-digit year (1500-2099) in ``text``."""
    found = list(_BARE_YEAR.finditer(text))
    if not found:
        return None
    last = found[-1]
    return FoundDate(last.group(1), last.group(1), last.start(1), last.end(1))
