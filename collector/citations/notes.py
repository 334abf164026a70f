"""Find the notes list at the end of a report's text and cut it into entries.

A notes list is a run of lines starting with ``[n]``, ``[^label]:``, ``n.`` or a superscript number,
either after a heading such as "Notes" or "References", or after the last body line that carries a
marker. Lines after an entry belong to it while it is open: a note (``* ...``), an indented line, or an
entry whose last line does not end a reference (``.`` or ``;``). Anything else is reported as ignored
(the "No responses yet" of a page saved as text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from collector.citations.markers import INLINE_MARKER, superscript_number

__all__ = ["FoundEntry", "NotesSplit", "split_notes"]

_ENTRY = re.compile(
    r"""[ \t]*(?:
        \[(?P<b>\d{1,5})\][.:)]?(?=[ \t]*\S)
      | \[\^(?P<c>[^\]\s]{1,40})\]:
      | (?P<d>\d{1,5})[.)](?=[ \t]+\S)
      | (?P<s>[⁰¹²³⁴⁵⁶⁷⁸⁹]+)(?=[ \t]*\S)
    )[ \t]*""",
    re.X,
)
_HEADING = re.compile(
    r"[ \t]*(?:\#{1,6}[ \t]*)?[*_]{0,2}(?:notes?|end[ -]?notes|foot[ -]?notes|references|sources|citations"
    r"|bibliography|works[ \t]+cited|sources[ \t]+and[ \t]+notes|notas|referencias|fuentes|bibliograf[íi]a"
    r"|fonti|riferimenti|quellen|anmerkungen|literatur)[*_]{0,2}[ \t]*:?[ \t]*",
    re.I,
)
_REFERENCE_LOOK = re.compile(r"https?://|www\.|[\"“”«»]|\b(?:1[5-9]|20)\d\d\b")
_NOTE_START = "*•†‡"
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class FoundEntry:
    """An entry found in the text: ``label``, its text as written, and where it starts."""

    label: str
    text: str
    start: int  # offset of the entry's line in the text
    end: int
    line: int  # 0-based line index


@dataclass
class NotesSplit:
    """Where the body ends, the entries after it, and lines in the notes area that belong to no entry."""

    body_end: int
    entries: list[FoundEntry] = field(default_factory=list)
    ignored: list[tuple[int, str]] = field(default_factory=list)  # (0-based line index, text)


def _entry_start(line: str) -> tuple[str, str, int] | None:
    """``(style, label, length of the label prefix)`` when ``line`` starts a notes entry."""
    match = _ENTRY.match(line)
    if match is None:
        return None
    style = match.lastgroup or ""
    value = match.group(style)
    if style == "c":
        label = "^" + value
    elif style == "s":
        label = str(int(superscript_number(value)))
    else:
        label = str(int(value))
    return ("b" if style == "c" else style), label, match.end()


def _is_open(entry_lines: list[str], after_blank: bool, line: str) -> bool:
    """Whether ``line`` continues the entry made of ``entry_lines``."""
    first = entry_lines[0].lstrip()
    if first[:1] in _NOTE_START or line[:1] in " \t":
        return True
    if after_blank:
        return False
    return entry_lines[-1].rstrip()[-1:] not in (".", ";")


def split_notes(text: str) -> NotesSplit:
    """Split ``text`` into body and trailing notes entries (``body_end == len(text)`` when there are none)."""
    lines = text.split("\n")
    offsets: list[int] = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    starts: list[tuple[int, str, str, int]] = []  # (line index, style, label, prefix length)
    last_marker_line = -1
    heading = -1
    for index, line in enumerate(lines):
        found = _entry_start(line)
        if found is not None:
            starts.append((index, *found))
        elif INLINE_MARKER.search(line):
            last_marker_line = index
        elif _HEADING.fullmatch(line):
            heading = index
    if heading > last_marker_line:
        candidates = [s for s in starts if s[0] > heading]
        if candidates:
            style = candidates[0][1]
            block = [s for s in candidates if s[1] == style]
            return _cut(text, lines, offsets, block, first_line=heading + 1, body_end=offsets[heading])
    for styles in (("b",), ("s",), ("d",)):
        block = [s for s in starts if s[0] > last_marker_line and s[1] in styles]
        if not block:
            continue
        if styles == ("d",):
            texts = [lines[s[0]] for s in block]
            if len(block) < 2 or 2 * sum(bool(_REFERENCE_LOOK.search(t)) for t in texts) < len(texts):
                continue  # an ordinary numbered list
        return _cut(text, lines, offsets, block, first_line=block[0][0], body_end=offsets[block[0][0]])
    return NotesSplit(body_end=len(text))


def _cut(text: str, lines: list[str], offsets: list[int], block: list[tuple[int, str, str, int]],
         *, first_line: int, body_end: int) -> NotesSplit:
    split = NotesSplit(body_end=body_end)
    starts = {s[0]: s for s in block}
    current: tuple[int, str, int] | None = None  # (first line, label, prefix length)
    current_lines: list[str] = []
    last_line = -1
    after_blank = False

    def close() -> None:
        if current is None:
            return
        first, label, _ = current
        body = "\n".join(_SPACES.sub(" ", line).strip() for line in current_lines).strip()
        end = offsets[last_line] + len(lines[last_line])
        split.entries.append(FoundEntry(label, body, offsets[first], end, first))

    for index in range(first_line, len(lines)):
        line = lines[index]
        if index in starts:
            close()
            current = (index, starts[index][2], starts[index][3])
            current_lines = [line[starts[index][3]:]]
            last_line = index
            after_blank = False
        elif not line.strip():
            after_blank = True
        elif current is not None and _is_open(current_lines, after_blank, line):
            current_lines.extend([""] * (index - last_line - 1))
            current_lines.append(line)
            last_line = index
            after_blank = False
        else:
            split.ignored.append((index, line.strip()))
    close()
    return split
