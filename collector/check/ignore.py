"""Ignore rules: what a check leaves out of the text comparison (a date line, a view counter, a "related
stories" box). Pure functions over str/bytes; the caller fetches the rules and the texts.

Three kinds of rule:

- ``regex``: a Python regular expression over the extracted main text, ``re.MULTILINE`` (``^``/``$`` match
  at each line), so ``^Updated: .*$`` drops a whole date line. Empty matches are skipped.
- ``css`` (a CSS selector, through lxml's ``cssselect``) and ``xpath``: applied to the archived HTML. The
  text of each element they select is then located in the extracted main text (words in order, any
  whitespace or list bullet between them) and removed there. An element the extractor had already left out
  removes nothing. The text is not extracted again: the stored extraction stays the one compared, and a
  rule costs one HTML parse, not one extraction. A text shorter than 12 characters is removed only where
  it is a line of its own (a "Share" button must not cut "Share prices" out of a sentence). An XPath
  that selects strings (``//p/text()``) removes those strings.

``ignored_spans`` finds what the rules match (``Ignored`` spans, each with the rule's id);
``remove_spans`` cuts them out; ``filter_text`` does both. ``validate`` checks a pattern before it is
stored, with an error that names it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from collector.errors import InputError

__all__ = ["KINDS", "Ignored", "Rule", "filter_text", "ignored_spans", "remove_spans", "summarize",
           "validate"]

KINDS = ("css", "xpath", "regex")
_BETWEEN = r"[\s\-*•·|]+"  # between two words of an element's text in the extracted text
_BULLETS = " \t-*•·|"  # what a line left by a removal may still hold and be dropped
_MIN_CHUNK = 12  # a text piece of an element located on its own needs this many characters


class Rule(Protocol):
    """What these functions need of a rule (``storage.ignorerules.IgnoreRuleRecord`` has it)."""

    @property
    def id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def pattern(self) -> str: ...


@dataclass(frozen=True)
class Ignored:
    """A stretch of text a rule removed: ``text[start:end]``."""

    rule_id: int
    start: int
    end: int
    text: str


def validate(kind: str, pattern: str) -> None:
    """Raise InputError (naming the pattern and what is wrong) unless ``pattern`` is a valid ``kind``."""
    if kind not in KINDS:
        raise InputError(f"unknown rule kind {kind!r}: choose from {', '.join(KINDS)}")
    if not pattern.strip():
        raise InputError(f"empty {kind} pattern: give what to ignore, e.g. --regex '^Updated: .*$'")
    # lazy: lxml and cssselect (~0.1 s) only for the CSS and XPath rules (a check loads this module)
    from cssselect import SelectorError
    from lxml import etree
    from lxml.cssselect import CSSSelector

    try:
        if kind == "regex":
            compiled = re.compile(pattern, re.MULTILINE)
            if compiled.fullmatch(""):
                raise InputError(f"regex {pattern!r} matches the empty text: it would ignore nothing "
                                 "useful (did you mean '.+' instead of '.*'?)")
        elif kind == "css":
            CSSSelector(pattern)
        else:
            etree.XPath(pattern)
    except re.error as exc:
        raise InputError(f"regex {pattern!r} is not a valid regular expression: {exc}") from exc
    except SelectorError as exc:
        raise InputError(f"CSS selector {pattern!r} is not valid: {exc}") from exc
    except etree.XPathSyntaxError as exc:
        raise InputError(f"XPath {pattern!r} is not valid: {exc}") from exc


def _squash(text: str) -> str:
    return " ".join(text.split())


@functools.lru_cache(maxsize=256)
def _compiled(kind: str, pattern: str) -> Any:
    """A rule's compiled selector (a check applies the same few rules to every capture)."""
    from lxml import etree  # lazy: CSS and XPath rules only
    from lxml.cssselect import CSSSelector  # lazy: CSS rules only

    return CSSSelector(pattern) if kind == "css" else etree.XPath(pattern)


def _element_texts(document: Any, rule: Rule) -> list[str]:
    """The texts of what ``rule`` selects in ``document`` (an lxml HTML tree)."""
    from cssselect import SelectorError  # lazy: CSS and XPath rules only
    from lxml import etree  # lazy: CSS and XPath rules only

    try:
        found = _compiled(rule.kind, rule.pattern)(document)
    except (SelectorError, etree.XPathError):
        return []  # validated when stored; a rule that fails on this page removes nothing
    if not isinstance(found, list):
        found = [found]
    texts = []
    for item in found:
        if isinstance(item, str):
            texts.append(_squash(item))
        elif hasattr(item, "itertext"):
            texts.append(_squash(" ".join(item.itertext())))
    return [t for t in texts if t]


def _parse(html: bytes | str) -> Any:
    import lxml.html  # lazy: CSS and XPath rules only
    from lxml import etree  # lazy: CSS and XPath rules only

    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _locate(text: str, piece: str) -> list[tuple[int, int]]:
    words = piece.split()
    if not words:
        return []
    body = _BETWEEN.join(re.escape(w) for w in words)
    # a short text (a "Share" button) only as a line of its own; a longer one at word boundaries
    pattern = re.compile(f"^{body}$" if len(piece) < _MIN_CHUNK else rf"(?<!\w){body}(?!\w)", re.M)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _element_spans(text: str, document: Any, rule: Rule) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for piece in _element_texts(document, rule):
        found = _locate(text, piece)
        if not found:  # the extractor kept part of the element: locate its longer pieces one by one
            for part in re.split(r"\s{2,}|\n", piece):
                if len(part) >= _MIN_CHUNK:
                    found += _locate(text, part)
        spans += found
    return spans


def ignored_spans(text: str, rules: Sequence[Rule], html: bytes | str | None = None) -> list[Ignored]:
    """What ``rules`` match in ``text`` (CSS/XPath rules through ``html``, skipped without it), in text
    order; overlapping matches are kept (``remove_spans`` merges them)."""
    found: list[Ignored] = []
    document = None
    for rule in rules:
        if rule.kind == "regex":
            try:
                spans = [(m.start(), m.end()) for m in re.finditer(rule.pattern, text, re.MULTILINE)]
            except re.error:
                spans = []
        elif rule.kind in ("css", "xpath") and html:
            if document is None:
                document = _parse(html)
            spans = _element_spans(text, document, rule) if document is not None else []
        else:
            spans = []
        found += [Ignored(rule.id, s, e, text[s:e]) for s, e in spans if e > s]
    return sorted(found, key=lambda i: (i.start, i.end, i.rule_id))


def remove_spans(text: str, spans: Iterable[Ignored]) -> str:
    """``text`` without the spans (overlaps merged); a line that a removal left blank is dropped whole."""
    merged: list[list[int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end)
        elif span.end > span.start:
            merged.append([span.start, span.end])
    if not merged:
        return text
    lines, pos, first = [], 0, 0
    for line in text.split("\n"):
        end = pos + len(line)
        while first < len(merged) and merged[first][1] <= pos:
            first += 1  # spans wholly before this line
        pieces, cursor, n = [], pos, first
        while n < len(merged) and merged[n][0] < end:
            start, stop = max(merged[n][0], pos), min(merged[n][1], end)
            if stop > start:
                pieces.append(text[cursor:start])
                cursor = stop
            n += 1
        if cursor == pos and not pieces:
            lines.append(line)  # untouched
        else:
            kept = "".join(pieces) + text[cursor:end]
            if kept.strip(_BULLETS):
                lines.append(kept)
        pos = end + 1
    return "\n".join(lines)


def filter_text(text: str, rules: Sequence[Rule], html: bytes | str | None = None
                ) -> tuple[str, list[Ignored]]:
    """``text`` with what ``rules`` match removed, and what was removed."""
    spans = ignored_spans(text, rules, html)
    return (remove_spans(text, spans) if spans else text), spans


def summarize(rules: Sequence[Rule], *removed: Sequence[Ignored]) -> list[dict[str, Any]]:
    """One entry per rule that removed something from any of the texts: ``{id, kind, pattern, removed}``
    (``removed``: the distinct texts it removed, in order)."""
    out = []
    for rule in rules:
        texts = [i.text for spans in removed for i in spans if i.rule_id == rule.id]
        if texts:
            out.append({"id": rule.id, "kind": rule.kind, "pattern": rule.pattern,
                        "removed": list(dict.fromkeys(texts))})
    return out
