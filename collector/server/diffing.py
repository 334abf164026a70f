"""Side-by-side diff of two extracted texts with the cited quotes located in both (pure functions).

Paragraphs (lines) are aligned with difflib; a replaced paragraph is diffed again word by word. Each side
of a row carries spans ``[start, end, kind]`` (kind ``del``, ``ins``, ``quote`` or ``ignored``: left out of
the comparison by an ignore rule) over its own text, so
a renderer can mark changes and quotes without re-running the diff.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from collector.check.quotes import find_quote, fold

__all__ = ["diff_texts", "quote_spans"]

_WORDS = re.compile(r"\s+|[^\s]+")


def _word_spans(a: str, b: str) -> tuple[list[list[Any]], list[list[Any]]]:
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    pa = [0]
    for w in wa:
        pa.append(pa[-1] + len(w))
    pb = [0]
    for w in wb:
        pb.append(pb[-1] + len(w))
    left: list[list[Any]] = []
    right: list[list[Any]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if op in ("replace", "delete") and i2 > i1:
            left.append([pa[i1], pa[i2], "del"])
        if op in ("replace", "insert") and j2 > j1:
            right.append([pb[j1], pb[j2], "ins"])
    return left, right


def quote_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Where ``quote`` occurs in ``text`` (tolerant matching as in collector.check.quotes), as char ranges."""
    needle, _ = fold(quote)
    needle = needle.strip(" .,;:")
    hay, index = fold(text)
    spans = []
    start = hay.find(needle) if needle else -1
    while start >= 0:
        end = start + len(needle) - 1
        spans.append((index[start], index[end] + 1))
        start = hay.find(needle, start + 1)
    return spans


def _per_line(lines: list[str], ranges: list[tuple[int, int]], kind: str) -> dict[int, list[list[Any]]]:
    """Spans ``[start, end, kind]`` per line of character ranges over the whole text (a range across
    lines is marked in each line it covers)."""
    starts = []
    pos = 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    out: dict[int, list[list[Any]]] = {}
    for start, end in ranges:
        for n, line_start in enumerate(starts):
            line_end = line_start + len(lines[n])
            if start < line_end and end > line_start:
                out.setdefault(n, []).append([max(start, line_start) - line_start,
                                              min(end, line_end) - line_start, kind])
    return out


def _line_quotes(lines: list[str], text: str, quotes: list[str]) -> dict[int, list[list[Any]]]:
    """Quote spans per line."""
    return _per_line(lines, [span for quote in quotes for span in quote_spans(text, quote)], "quote")


def _merge(*maps: dict[int, list[list[Any]]]) -> dict[int, list[list[Any]]]:
    out: dict[int, list[list[Any]]] = {}
    for spans in maps:
        for n, found in spans.items():
            out.setdefault(n, []).extend(found)
    return out


def diff_texts(a: str, b: str, quotes: list[str] | None = None, *,
               ignored_a: list[tuple[int, int]] | None = None,
               ignored_b: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    """Rows ``{op, left, right, left_spans, right_spans}`` (op: equal, replace, delete, insert), the
    quotes with whether each is in either text, and a unified diff. ``ignored_a``/``ignored_b``: character
    ranges that ignore rules leave out of the comparison, marked as ``ignored`` spans."""
    quotes = quotes or []
    la, lb = a.splitlines(), b.splitlines()
    qa = _merge(_line_quotes(la, a, quotes), _per_line(la, ignored_a or [], "ignored"))
    qb = _merge(_line_quotes(lb, b, quotes), _per_line(lb, ignored_b or [], "ignored"))
    rows: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                rows.append({"op": "equal", "left": la[i], "right": lb[j],
                             "left_spans": qa.get(i, []), "right_spans": qb.get(j, [])})
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            left = la[i] if i < i2 else None
            right = lb[j] if j < j2 else None
            if left is not None and right is not None:
                ls, rs = _word_spans(left, right)
                kind = "replace"
            else:
                ls = [[0, len(left), "del"]] if left is not None else []
                rs = [[0, len(right), "ins"]] if right is not None else []
                kind = "delete" if right is None else "insert"
            rows.append({"op": kind, "left": left, "right": right,
                         "left_spans": ls + (qa.get(i, []) if left is not None else []),
                         "right_spans": rs + (qb.get(j, []) if right is not None else [])})
    found = []
    for quote in quotes:
        in_a, in_b = find_quote(quote, a), find_quote(quote, b)
        found.append({"text": quote, "in_a": in_a.found, "in_b": in_b.found,
                      "similarity_b": in_b.similarity, "closest_b": in_b.closest})
    unified = "\n".join(difflib.unified_diff(la, lb, "a", "b", lineterm=""))
    changed = sum(1 for r in rows if r["op"] != "equal")
    return {"rows": rows, "quotes": found, "unified": unified, "changed_paragraphs": changed,
            "identical": a == b}
