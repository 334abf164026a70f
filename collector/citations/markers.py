"""Citation markers in body text: ``[n]``, ``[n, m]``, ``[n-m]``, ``[^label]``, ``(n)`` and ``¹²``.

``(n)`` and superscript digits are ambiguous in prose, so they count only where they cannot be a year,
a list item or an enumeration: after a sentence end or a closing quote, or before the end of a clause
when the notes have an entry with that number.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass

__all__ = ["INLINE_MARKER", "Marker", "find_markers", "superscript_number"]

_BRACKET = re.compile(r"\[(\d{1,5}(?:[ \t]*[,;–—-][ \t]*\d{1,5})*)\]")
_CARET = re.compile(r"\[\^([^\]\s]{1,40})\]")
_PAREN = re.compile(r"\((\d{1,3})\)")
_SUPER = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUPER_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# any marker-looking thing, used to tell body lines from notes lines
INLINE_MARKER = re.compile(r"\[\d{1,5}(?:[ \t]*[,;–—-][ \t]*\d{1,5})*\]|\[\^[^\]\s]{1,40}\]")
_CLOSERS = ".!?”\"’»)]…"
_MAX_RANGE = 50


@dataclass(frozen=True)
class Marker:
    """One marker occurrence: ``text[start:end]`` refers to ``ref``."""

    ref: str
    start: int
    end: int


def superscript_number(text: str) -> str:
    """``"¹²"`` -> ``"12"``."""
    return text.translate(_SUPER_DIGITS)


def _expand(inner: str) -> list[str]:
    refs: list[str] = []
    for part in re.split(r"[ \t]*[,;][ \t]*", inner):
        bounds = re.split(r"[ \t]*[–—-][ \t]*", part)
        if len(bounds) == 2 and bounds[0] and bounds[1]:
            low, high = int(bounds[0]), int(bounds[1])
            if low < high and high - low <= _MAX_RANGE:
                refs.extend(str(n) for n in range(low, high + 1))
                continue
        refs.extend(str(int(b)) for b in bounds if b)
    return refs


def _prev_char(text: str, pos: int) -> tuple[str, bool]:
    """The character before ``pos`` skipping one space, and whether a space was skipped."""
    if pos > 0 and text[pos - 1] in " \t":
        return (text[pos - 2] if pos > 1 else "\n"), True
    return (text[pos - 1] if pos > 0 else "\n"), False


def _at_line_start(text: str, pos: int) -> bool:
    """Whether only spaces or a bullet come before ``pos`` on its line."""
    while pos > 0 and text[pos - 1] in " \t-*•>":
        pos -= 1
    return pos == 0 or text[pos - 1] == "\n"


def _paren_is_marker(text: str, match: re.Match[str], labels: Set[str]) -> bool:
    start, end = match.span()
    if _at_line_start(text, start):
        return False  # "(1) First item"
    after = text[end:end + 2]
    if re.match(r"\s*[a-z]", after):
        return False  # "(2) no coats": an enumeration inside a sentence
    before, _ = _prev_char(text, start)
    if before in _CLOSERS:
        return True
    return (after[:1] in ("", "\n", ".", ",", ";", ":")) and before.isalpha() and match.group(1) in labels


def find_markers(text: str, labels: Set[str] = frozenset()) -> list[Marker]:
    """Every marker in ``text`` in order; ``labels`` are the notes entries' labels (they settle ambiguity)."""
    found: list[Marker] = []
    for match in _BRACKET.finditer(text):
        found.extend(Marker(ref, match.start(), match.end()) for ref in _expand(match.group(1)))
    for match in _CARET.finditer(text):
        found.append(Marker("^" + match.group(1), match.start(), match.end()))
    for match in _PAREN.finditer(text):
        if _paren_is_marker(text, match, labels):
            found.append(Marker(str(int(match.group(1))), match.start(), match.end()))
    for match in _SUPER.finditer(text):
        ref = str(int(superscript_number(match.group())))
        before, spaced = _prev_char(text, match.start())
        if spaced or before.isdigit():
            continue
        if before in _CLOSERS or before in ",;:" or (before.isalpha() and ref in labels):
            found.append(Marker(ref, match.start(), match.end()))
    # four- and five-digit numbers are years unless the notes have them or the sequence reaches them
    numbers = {m.ref for m in found}
    found = [
        m for m in found
        if not (m.ref.isdigit() and len(m.ref) >= 4)
        or m.ref in labels or str(int(m.ref) - 1) in numbers
    ]
    found.sort(key=lambda m: (m.start, int(m.ref) if m.ref.isdigit() else 0))
    return found
