"""The sentence around a position in body text, for a citation's ``context``.

The text is cut once into sentences (ends: ``.``, ``!``, ``?`` followed by a capital, and every line
break); markers written after the full stop (``cultivation.[1]``, ``guidelines”. [5]``) stay with the
sentence they close.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["Sentences"]

_BOUNDARY = re.compile(
    r"[.!?…][\"”’»)]*"
    r"(?:[ \t]*(?:\[\d{1,5}(?:[ \t]*[,;–—-][ \t]*\d{1,5})*\]|\[\^[^\]\s]{1,40}\]|\(\d{1,3}\)|[⁰¹²³⁴⁵⁶⁷⁸⁹]+))*"
    r"[ \t]+(?=[\"“‘«(]?[A-ZÀ-ÖØ-Þ¿¡]|\d)"
    r"|\n+"
)
_MAX = 1000
# a full stop after these is no sentence end ("U.S. Department", "Joseph M. Humire", "pp. 4")
_ABBREVIATION = re.compile(
    r"(?:\b[A-Za-z]|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Gen|Gov|Sen|Rep|Col|Lt|Capt|vs|No|Nos|pp?|vol|ed|eds|cf|al"
    r"|e\.g|i\.e|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\Z"
)


class Sentences:
    """Sentence spans of one text, looked up by offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for match in _BOUNDARY.finditer(text):
            start = match.start()
            if text[start] == "." and _ABBREVIATION.search(text, max(0, start - 8), start):
                continue
            self.starts.append(match.end())

    def around(self, start: int, end: int | None = None) -> str | None:
        """The whitespace-collapsed sentence holding ``text[start:end]`` (at most ~1000 characters)."""
        index = bisect.bisect_right(self.starts, start) - 1
        begin = self.starts[index]
        stop = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        end = start if end is None else end
        if stop - begin > _MAX:
            begin = max(begin, start - _MAX // 2)
            stop = min(stop, end + _MAX // 2)
        sentence = " ".join(self.text[begin:stop].split())
        return sentence.lstrip("-–—•* ") or None
