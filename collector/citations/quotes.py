"""Quoted passages tied to a marker: ``"..." [2]``, ``"...". [25]``, ``“...” [6]``, ``“... text.[3]”``.

The quote ends right before the marker (only spaces, punctuation or other markers between), or the
marker sits at the very end inside it. It is matched back to its opening mark within the paragraph:
curly quotes nest (``“... “chosen by God” ...”``), straight quotes are told apart as openers and
closers by what surrounds them. Quotes joined by a few words (``“A” and as “B”. [7]``) are all taken.
The stored text is the passage inside the outer marks, whole, without markers and with spaces collapsed.
"""

from __future__ import annotations

import re

from collector.citations.markers import INLINE_MARKER

__all__ = ["quotes_for_marker"]

_OPENERS = {"”": "“„", "»": "«", "’": "‘‚", "«": "»"}
_BEFORE = re.compile(
    r"(?:[ \t]*(?:\[\d{1,5}(?:[ \t]*[,;–—-][ \t]*\d{1,5})*\]|\[\^[^\]\s]{1,40}\]|\(\d{1,3}\)))*[ \t.,;:]*\Z"
)
_AFTER = re.compile(r"[.,;:!?…]*")
_CONNECTOR = re.compile(r"[\s,;]*(?:(?:and|or|as|also|then|but|y|e|et|und|o|ou)[\s,]+){0,3}\Z", re.I)
_SCAN = 6000  # characters: how far back a quote may open
_LEAD = 120  # characters: markers and punctuation between a quote and its marker
_STRAY_MARKER = re.compile(r"\(\d{1,3}\)|[⁰¹²³⁴⁵⁶⁷⁸⁹]+")


def _straight_is_opener(text: str, pos: int) -> bool:
    before = text[pos - 1] if pos > 0 else " "
    return before.isspace() or before in "([{—–-/“‘«"


def _match_back(text: str, close: int, floor: int) -> int | None:
    """Index of the mark that opens the quote closed at ``close``."""
    closer = text[close]
    limit = max(floor, close - _SCAN)
    if closer == "\"":
        depth = 1
        for pos in range(close - 1, limit - 1, -1):
            if text[pos] == "\"":
                if _straight_is_opener(text, pos):
                    depth -= 1
                    if depth == 0:
                        return pos
                else:
                    depth += 1
        return None
    openers = _OPENERS[closer]
    if closer == "’":  # apostrophes are everywhere: no nesting, take the nearest opening mark
        pos = max(text.rfind(o, limit, close) for o in openers)
        return pos if pos >= 0 else None
    depth = 1
    for pos in range(close - 1, limit - 1, -1):
        char = text[pos]
        if char == closer:
            depth += 1
        elif char in openers:
            depth -= 1
            if depth == 0:
                return pos
    return None


def _clean(passage: str) -> str:
    passage = _STRAY_MARKER.sub(" ", INLINE_MARKER.sub(" ", passage))
    return " ".join(passage.split()).rstrip(",;: ")


def quotes_for_marker(text: str, start: int, end: int) -> list[str]:
    """The quoted passages tied to the marker at ``text[start:end]``, in reading order."""
    floor = max(text.rfind("\n", max(0, start - _SCAN), start) + 1, start - _SCAN, 0)
    close: int | None = None
    lead = _BEFORE.search(text, max(floor, start - _LEAD), start)
    probe = (lead.start() if lead else start) - 1
    if probe >= floor and text[probe] in "\"”»’":
        close = probe
    else:
        after = _AFTER.match(text, end)
        probe = after.end() if after else end
        if probe < len(text) and text[probe] in "\"”»’" and text[probe] != "\n":
            close = probe
    found: list[str] = []
    while close is not None and len(found) < 5:
        opened = _match_back(text, close, floor)
        if opened is None:
            break
        passage = _clean(text[opened + 1:close])
        if passage:
            found.append(passage)
        connector = _CONNECTOR.search(text, max(floor, opened - 40), opened)
        probe = (connector.start() if connector else opened) - 1
        if connector is None or connector.start() == opened or probe < floor or text[probe] not in "\"”»’":
            break
        close = probe
    found.reverse()
    return found
