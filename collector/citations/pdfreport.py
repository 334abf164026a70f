"""PDF reports: the text layer (pypdf), with superscript markers, page footnotes and link annotations.

Text runs are grouped into lines with their position and font size. A run of digits set smaller or
raised against its line becomes a marker ``[n]``. Small-type lines at the foot of a page that start
with a number are that page's footnotes; the other lines form the body, with wrapped lines of a
paragraph joined (and hyphenated words mended). Each ``/Link`` annotation with a ``/URI`` is laid over
the runs under its rectangle: inside a footnote it becomes that note's URL, in the body a link span.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from collector.citations.document import Extracted, Link, RawEntry
from collector.citations.errors import ReportParseError
from collector.citations.textreport import guess_title
from collector.citations.urls import clean_url

__all__ = ["read_pdf"]

_LABEL = re.compile(r"\s*(?:\[(\d{1,4})\]|(\d{1,4})[.)]?(?=\s))\s*")
_STARTS_ITEM = re.compile(r"\s*(?:\[\d{1,5}\]|\[\^[^\]\s]+\]:|\d{1,5}[.)]\s|[-•*]\s)")
_PAGE_NUMBER = re.compile(r"\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*", re.I)
_CHAR_WIDTH = 0.5  # average glyph width in ems, when a run's width cannot be measured


@dataclass
class _Seg:
    text: str
    x: float | None
    y: float
    size: float
    width: float = 0.0
    offset: int = -1  # offset in the body text, or in its entry's text
    owner: int = -1  # -1: body; else index of the footnote entry


@dataclass
class _Line:
    page: int
    segs: list[_Seg] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segs)

    @property
    def size(self) -> float:
        sizes = Counter[float]()
        for seg in self.segs:
            sizes[round(seg.size, 1)] += len(seg.text.strip())
        return sizes.most_common(1)[0][0] if sizes else 0.0

    @property
    def right(self) -> float:
        placed = [s for s in self.segs if s.x is not None and s.text.strip()]
        return max((s.x + s.width for s in placed if s.x is not None), default=0.0)


def _position(cm: list[float], tm: list[float]) -> tuple[float, float, float]:
    """Device x, y and the vertical scale of a text run."""
    x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
    y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
    return x, y, abs(tm[3] * cm[3]) or abs(tm[0] * cm[0]) or 1.0


def _page_lines(page: Any, number: int) -> list[_Line]:
    lines = [_Line(number)]

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        if not text:
            return
        x, y, scale = _position(cm, tm)
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append(_Line(number))
            if part:
                lines[-1].segs.append(_Seg(part, x if index == 0 else None, y, (size or 1.0) * scale))

    page.extract_text(visitor_text=visit)
    for line in lines:
        segs = line.segs
        for index, seg in enumerate(segs):
            following = segs[index + 1] if index + 1 < len(segs) else None
            next_x = following.x if following is not None else None
            if seg.x is not None and next_x is not None and next_x > seg.x:
                seg.width = next_x - seg.x
            else:
                seg.width = len(seg.text) * seg.size * _CHAR_WIDTH
        _mark_superscripts(line)
    return lines


def _mark_superscripts(line: _Line) -> None:
    """Digits set smaller or raised against their neighbours become ``[n]``."""
    segs = line.segs
    for index, seg in enumerate(segs):
        digits = seg.text.strip()
        if not digits.isdigit() or len(digits) > 4:
            continue
        neighbours = [s for s in (*reversed(segs[:index]), *segs[index + 1:]) if s.text.strip()
                      and not s.text.strip().isdigit()]
        if not neighbours:
            continue
        near = neighbours[0]
        if seg.size < 0.85 * near.size or seg.y > near.y + 0.2 * near.size:
            first = not any(s.text.strip() for s in segs[:index])
            seg.text = f"[{digits}]" + (" " if first else "")


def _footnote_start(lines: list[_Line], body_size: float) -> int:
    """Index of the first footnote line at the foot of a page's ``lines`` (``len(lines)`` if none)."""
    index = len(lines)
    while index and (not lines[index - 1].text.strip() or _PAGE_NUMBER.fullmatch(lines[index - 1].text)):
        index -= 1
    end = index
    while index and (lines[index - 1].size < 0.9 * body_size or not lines[index - 1].text.strip()):
        index -= 1
    for start in range(index, end):
        if _LABEL.match(lines[start].text) and lines[start].text.strip():
            return start
    return len(lines)


def _joins(line: _Line, following: _Line, widest: float) -> bool:
    """Whether ``following`` continues ``line``'s paragraph (a wrapped line)."""
    if not line.text.strip() or not following.text.strip() or _STARTS_ITEM.match(following.text):
        return False
    if abs(line.size - following.size) > 0.15 * max(line.size, following.size, 1):
        return False
    return line.right >= 0.85 * widest


def _emit(lines: list[_Line], widests: dict[int, float], owner: int,
          where: list[str] | None) -> str:
    """Write ``lines`` as text, joining wrapped lines; set each run's offset and owner."""
    parts: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else None
        glue = "\n"
        if following is not None and _joins(line, following, widests.get(line.page, 0.0)):
            glue = " "
            last = line.segs[-1] if line.segs else None
            if last is not None and re.search(r"\w-$", last.text) and following.text.lstrip()[:1].islower():
                last.text, glue = last.text[:-1], ""
        for seg in line.segs:
            seg.offset, seg.owner = size, owner
            parts.append(seg.text)
            size += len(seg.text)
        if following is not None:
            parts.append(glue)
            size += len(glue)
            if glue == "\n" and where is not None:
                where.append(f"page {following.page}")
    return "".join(parts)


def _annotations(page: Any) -> list[tuple[str, tuple[float, float, float, float]]]:
    found = []
    for ref in page.get("/Annots") or []:
        annot = ref.get_object()
        action = annot.get("/A")
        if annot.get("/Subtype") != "/Link" or action is None:
            continue
        action = action.get_object()
        uri = action.get("/URI")
        rect = annot.get("/Rect")
        if action.get("/S") == "/URI" and uri and rect:
            x1, y1, x2, y2 = (float(v) for v in rect)
            url = clean_url(str(uri))
            if url.startswith(("http://", "https://")):
                found.append((url, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))))
    return found


def _under(rect: tuple[float, float, float, float], lines: list[_Line]) -> list[tuple[_Seg, int, int]]:
    """Runs under ``rect`` with the character range of each that the rectangle covers."""
    x1, y1, x2, y2 = rect
    hits = []
    for line in lines:
        for seg in line.segs:
            if seg.x is None or not seg.text or not y1 - 0.35 * seg.size <= seg.y <= y2:
                continue
            if seg.x + seg.width <= x1 or seg.x >= x2:
                continue
            per_char = seg.width / len(seg.text)
            first = max(0, int((x1 - seg.x) / per_char + 0.3))
            last = min(len(seg.text), int((x2 - seg.x) / per_char + 0.7))
            if last > first:
                hits.append((seg, first, last))
    return hits


def _snap(text: str, start: int, end: int, url: str) -> tuple[int, int]:
    """Widen a link span to whole words, or to the URL itself when it is written there."""
    window_start = max(0, start - 80)
    bare = url.split("://", 1)[-1].rstrip("/")
    found = text.find(bare, window_start, end + 80 + len(bare))
    if found != -1:
        scheme = text.rfind("http", max(0, found - 8), found)
        return (scheme if scheme != -1 else found), found + len(bare)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def read_pdf(data: bytes, *, name: str) -> Extracted:
    """Read a PDF report's text layer and link annotations."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReportParseError(f"{name}: the PDF is encrypted")
        pages = [(_page_lines(page, number), _annotations(page))
                 for number, page in enumerate(reader.pages, start=1)]
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except ReportParseError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise ReportParseError(f"{name}: not a readable PDF ({exc})") from exc
    if not any(line.text.strip() for lines, _ in pages for line in lines):
        raise ReportParseError(
            f"{name}: the PDF has no text layer ({len(pages)} page(s) without extractable text); "
            "it needs OCR first"
        )
    sizes = Counter[float]()
    for lines, _ in pages:
        for line in lines:
            sizes[line.size] += len(line.text)
    body_size = sizes.most_common(1)[0][0]
    body: list[_Line] = []
    notes: list[list[_Line]] = []
    widests: dict[int, float] = {}
    for lines, _ in pages:
        lines = [line for line in lines if not _PAGE_NUMBER.fullmatch(line.text)]
        if lines:
            widests[lines[0].page] = max(line.right for line in lines)
        cut = _footnote_start(lines, body_size)
        body.extend(lines[:cut])
        for line in lines[cut:]:
            if _LABEL.match(line.text) or not notes:
                notes.append([line])
            else:
                notes[-1].append(line)
    where = [f"page {body[0].page}"] if body else ["page 1"]
    text = _emit(body, widests, -1, where)
    entry_texts = [_emit(lines, widests, index, None) for index, lines in enumerate(notes)]
    entries: list[RawEntry] = []
    for index, entry_text in enumerate(entry_texts):
        label = _LABEL.match(entry_text)
        assert label is not None
        where_entry = f"page {notes[index][0].page}"
        label_text = str(int(label.group(1) or label.group(2)))
        entries.append(RawEntry(label=label_text, text=entry_text[label.end():], where=where_entry))
    links: list[Link] = []
    all_lines = {lines[0].page: lines for lines, _ in pages if lines}
    for number, (_, page_links) in enumerate(pages, start=1):
        for url, rect in page_links:
            hits = _under(rect, all_lines.get(number, []))
            owners = {seg.owner for seg, _, _ in hits if seg.offset >= 0}
            for owner in owners - {-1}:
                if url not in entries[owner].urls:
                    entries[owner].urls.append(url)
            spans = [(seg.offset + a, seg.offset + b) for seg, a, b in hits
                     if seg.owner == -1 and seg.offset >= 0]
            if spans and -1 in owners:
                start, end = _snap(text, min(s for s, _ in spans), max(e for _, e in spans), url)
                links.append(Link(start, end, url, text[start:end]))
    links.sort(key=lambda link: link.start)
    title = meta_title.strip() if isinstance(meta_title, str) and meta_title.strip() else None
    return Extracted(format="pdf", text=text, title=title or guess_title(text.split("\n")), links=links,
                     entries=entries, where=where)
