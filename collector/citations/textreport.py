"""Plain-text reports: decoded as they are; hard-wrapped paragraphs are unwrapped in place."""

from __future__ import annotations

import re
import statistics

from collector.citations.decode import declared_charset, decode_text
from collector.citations.document import Extracted

__all__ = ["guess_title", "read_text", "unwrap"]

_BYLINE = re.compile(r"(?:by|por|di|par|von)\s+\S", re.I)
_LIST_OR_ENTRY = re.compile(r"[ \t]*(?:[-*•>#]|\d{1,5}[.)]|\[\^?[^\]\s]{1,40}\]|[⁰¹²³⁴⁵⁶⁷⁸⁹])")


def guess_title(lines: list[str]) -> str | None:
    """The first short line that is not a byline or a date."""
    for line in lines[:10]:
        line = line.strip().strip("#*_ ").strip()
        if not line or _BYLINE.match(line) or re.fullmatch(r"[\d\s,./-]+", line):
            continue
        return line if len(line) <= 200 else None
    return None


def unwrap(text: str) -> tuple[str, list[str]]:
    """Join hard-wrapped lines of a paragraph (a newline becomes a space: offsets do not move).

    Returns the text and the source line where each of its lines starts.

    Only for texts that look wrapped: most lines of a similar, bounded width. A line is kept when the
    next one is blank, starts a list item or notes entry, or when the line ends a sentence and is short.
    """
    lines = text.split("\n")
    where = [f"line {n}" for n in range(1, len(lines) + 1)]
    widths = [len(line) for line in lines if line.strip()]
    if len(widths) < 5 or max(widths) > 120:
        return text, where
    width = max(widths)
    if statistics.median(widths) < 0.6 * width:
        return text, where
    out = list(text)
    where = ["line 1"]
    pos = 0
    for index, line in enumerate(lines[:-1]):
        pos += len(line)
        following = lines[index + 1]
        if (line.strip() and following.strip() and not _LIST_OR_ENTRY.match(following)
                and len(line.rstrip()) >= 0.75 * width):
            out[pos] = " "
        else:
            where.append(f"line {index + 2}")
        pos += 1
    return "".join(out), where


def read_text(data: bytes, *, name: str, content_type: str | None = None) -> Extracted:
    """Read a plain-text report."""
    text, where = unwrap(decode_text(data, name=name, charset=declared_charset(b"", content_type)))
    return Extracted(format="text", text=text, title=guess_title(text.split("\n")), where=where)
