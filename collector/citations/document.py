"""The intermediate form every format reader produces and the citation finder consumes.

A reader turns its input into plain ``text`` (body first, lines separated by ``\\n``), the outbound
``links`` found in it as character spans, and the notes ``entries`` it could identify from structure
(HTML footnote lists, Markdown footnote definitions). Entries written as plain lines at the end of the
text are found later, from the text alone (``notes.split_notes``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

__all__ = ["Extracted", "Link", "RawEntry"]


@dataclass(frozen=True)
class Link:
    """An outbound link: ``text[start:end]`` is its anchor text in the extracted text."""

    start: int
    end: int
    url: str
    text: str


@dataclass
class RawEntry:
    """One notes entry as written: its label (``"2"``, ``"^src"``), text and the URLs linked inside it."""

    label: str
    text: str
    where: str | None = None  # "line 12", "page 3": where the entry starts in the source
    urls: list[str] = field(default_factory=list)
    anchor_text: str | None = None
    source: str | None = None  # the entry as written in the source, when ``text`` is a rendering of it


@dataclass
class Extracted:
    """A report read into text, links and structurally identified notes entries."""

    format: str
    text: str
    title: str | None = None
    links: list[Link] = field(default_factory=list)
    entries: list[RawEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # where[i] names the source location of text line i ("line 12", "page 3"); None: line i + 1
    where: list[str] | None = None
    _line_starts: list[int] | None = field(default=None, repr=False)

    def line_index(self, offset: int) -> int:
        """0-based index of the text line holding ``offset``."""
        if self._line_starts is None:
            starts = [0]
            pos = self.text.find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = self.text.find("\n", pos + 1)
            self._line_starts = starts
        return bisect.bisect_right(self._line_starts, offset) - 1

    def where_at(self, offset: int) -> str:
        """Source location of a text offset, for messages ("line 12", "page 3")."""
        index = self.line_index(offset)
        if self.where is not None and index < len(self.where):
            return self.where[index]
        return f"line {index + 1}"
