"""One notes entry, as written, into its parts: authors, title, publisher, date, pages, URLs and kind.

Kinds: ``ibid`` (Ibidem, Ibid., Id., op. cit.), ``note`` (an entry starting with ``*`` or reading as
prose), ``social`` (a social-media URL or an entry naming such a post or account), ``web`` (a URL), and
``book`` (no URL, with publisher and year in parentheses, an ISBN, or pages without a quoted title).
An entry that is none of these is ``web``: a reference to something published, whose URL was lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from collector.citations.dates import find_date
from collector.citations.urls import find_urls, is_social_url, strip_fragment_residue

__all__ = ["EntryFields", "find_quoted", "parse_entry"]

_IBID = re.compile(r"(?:ibid(?:em)?\b\.?|ib[íi]d\.?|ib\.|idem\b\.?|id\.|id\Z|id(?=\s*,)|ivi\b)", re.I)
_OP_CIT = re.compile(r"(?P<author>[^,;]{2,80}?),?\s+(?:op\.?\s*cit|loc\.?\s*cit|cit\.)\.?", re.I)
_NOTE = re.compile(r"[*•†‡]|(?:note|nota|n\.b\.)\s*[:.-]", re.I)
_ACCESS = re.compile(
    r"[(\[]?\b(?:last\s+)?(?:accessed|retrieved|consulted|viewed|visited|consultado|visitado|consultato"
    r"|abgerufen)\b[^.;()\[\]]*[)\]]?|\b(?:available\s+(?:at|from|online)|online\s+at|url|link)\s*:",
    re.I,
)
_ACCESS_WORDS = ("access", "retriev", "consult", "viewed", "visit", "abgerufen", "available", "online", "url",
                 "link")
_PAGES = re.compile(
    r"(?<![\w])(?:pp?\.|pgs?\.|pages?|p[áa]gs?\.?|S\.)\s*"
    r"(?P<pages>\d+[a-z]?(?:\s*[-–—]\s*\d+[a-z]?)?(?:\s*,\s*\d+(?:\s*[-–—]\s*\d+)?)*)",
)
_PAREN = re.compile(r"\(([^()]*[A-Za-zÀ-ÿ][^()]*?\b(?:1[5-9]\d\d|20\d\d)\b[^()]*)\)")
_ISBN = re.compile(r"\bISBN(?:-1[03])?:?\s*[\dX-]{10,17}", re.I)
_SOCIAL_WORDS = re.compile(
    r"\b(?:facebook|youtube|you\s+tube|twitter|tweet(?:ed)?|telegram|instagram|tiktok|tik\s+tok|vkontakte"
    r"|whatsapp|truth\s+social|bluesky|rumble)\b",
    re.I,
)
_SOCIAL_X = re.compile(
    r"\bX\s*(?:\(formerly Twitter\)|post|account|thread)\b|\bon X\b|(?<![\w.@])@\w{2,30}\b"
)
_NAME_TOKEN = r"(?:[A-ZÀ-ÖØ-Þ][\w'’-]*\.?|[A-Z]\.(?:[A-Z]\.)*)"
_PARTICLE = r"(?:de|da|del|della|di|do|dos|das|van|von|der|den|la|le|du|bin|ibn|al|el|y|ter|ten|st\.|al-\w+)"
_NAME = re.compile(rf"{_NAME_TOKEN}(?:\s+(?:{_NAME_TOKEN}|{_PARTICLE})){{1,5}}")
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|&|\band\b|\by\b|\bund\b)\s*")
_SEGMENT_SPLIT = re.compile(r"\s*[,;]\s*(?![^()]*\))")
_JUNK = " \t,;:.·-–—"
_DANGLING = re.compile(r"\s+(?:of|on|in|at|from|dated|del|de|di|du|vom|am)\Z", re.I)  # left by a cut date
_QUOTE_PAIRS = {"“": "”", "«": "»", "„": "“", "\"": "\""}


@dataclass(frozen=True)
class EntryFields:
    """The parts of one notes entry; ``op_cit`` names the author an ``op. cit.`` entry refers back to."""

    kind: str
    authors: tuple[str, ...] = ()
    title: str | None = None
    publisher: str | None = None
    date: str | None = None
    date_iso: str | None = None
    pages: str | None = None
    urls: tuple[str, ...] = ()
    op_cit: str | None = None
    residue: tuple[str, ...] = ()


def find_quoted(text: str) -> tuple[int, int] | None:
    """Span of the first quoted passage (marks included), nested quotes allowed; ``None`` if unclosed."""
    for index, char in enumerate(text):
        if char not in _QUOTE_PAIRS:
            continue
        if char == "\"" and index and not (text[index - 1].isspace() or text[index - 1] in "([{,;:"):
            continue
        closer = _QUOTE_PAIRS[char]
        if char == "\"":
            end = text.find("\"", index + 1)
            return (index, end + 1) if end > index + 1 else None
        depth = 1
        for pos in range(index + 1, len(text)):
            if text[pos] == closer and (closer != "“" or char == "„"):
                depth -= 1
                if depth == 0:
                    return index, pos + 1
            elif text[pos] == char:
                depth += 1
        return None
    return None


def _is_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text)) and not any(ch.isdigit() for ch in text) and len(text) <= 80


def _authors(text: str) -> tuple[str, ...]:
    text = re.sub(r"\bet\s+al\.?", "", text.strip(_JUNK)).strip(_JUNK)
    if not text:
        return ()
    names: list[str] = []
    for part in _AUTHOR_SPLIT.split(text):
        part = part.strip(_JUNK)
        if not part:
            continue
        pieces = [p.strip() for p in part.split(",")]
        if len(pieces) > 1 and all(_is_name(p) for p in pieces):
            names.extend(pieces)  # "Ana Soto, Luis Paz"
        else:
            names.append(part)  # "Soto, A." stays one author
    return tuple(names)


def _segments(text: str) -> list[str]:
    segments = (_DANGLING.sub("", seg.strip(_JUNK)).strip(_JUNK) for seg in _SEGMENT_SPLIT.split(text))
    return [seg for seg in segments if seg]


def _publisher_of_paren(inner: str) -> str | None:
    """``"Paese Edizioni. Roma, 2019"`` -> ``"Paese Edizioni"``; ``"London: Verso, 2019"`` -> ``"Verso"``."""
    found = find_date(inner)
    if found is not None:
        inner = inner[:found.start] + inner[found.end:]
    if ":" in inner:
        inner = inner.split(":", 1)[1]
    parts = [p.strip(_JUNK) for p in re.split(r"[.,;]\s+|,", inner) if p.strip(_JUNK)]
    return parts[0] if parts else None


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a segment of its own (between separators), not part of a title."""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return before[-1:] in ("", ",", ";", ".", ":", "(") and after[:1] in ("", ",", ";", ".", ")")


def _cut(text: str, start: int, end: int) -> str:
    return text[:start] + " " + text[end:]


def parse_entry(text: str, urls: Sequence[str] = ()) -> EntryFields:
    """Parse one notes entry (its text without the label); ``urls`` are links found on it by the reader."""
    work = " ".join(text.split())
    written = find_urls(work)
    found_urls = list(dict.fromkeys([*urls, *(u for _, _, u in written)]))
    for start, end, _ in reversed(written):
        work = _cut(work, start, end)
    work, residue = strip_fragment_residue(work)
    lowered = work.lower()
    if any(word in lowered for word in _ACCESS_WORDS):
        work = _ACCESS.sub(" ", work)
    work = " ".join(work.split()).strip(_JUNK + "()[]")
    social = any(is_social_url(u) for u in found_urls)

    ibid = _IBID.match(work)
    if ibid and not work[ibid.end():ibid.end() + 1].isalpha():
        page_match = _PAGES.search(work)
        return EntryFields(kind="ibid", pages=page_match.group("pages") if page_match else None,
                           urls=tuple(found_urls), residue=tuple(residue))
    op_cit = _OP_CIT.match(work)
    if op_cit:
        page_match = _PAGES.search(work)
        author = op_cit.group("author")
        return EntryFields(kind="ibid", authors=_authors(author), op_cit=author,
                           pages=page_match.group("pages") if page_match else None, urls=tuple(found_urls),
                           residue=tuple(residue))
    if _NOTE.match(text.lstrip()):
        kind = "social" if social else "note"
        return EntryFields(kind=kind, urls=tuple(found_urls), residue=tuple(residue))

    quoted = find_quoted(work)
    title: str | None = None
    if quoted is not None:
        before, after = work[:quoted[0]], work[quoted[1]:]
        title = work[quoted[0] + 1:quoted[1] - 1].strip(" ,;:") or None
    else:
        before, after = "", work
    outside = before + " " + after

    pages_match = _PAGES.search(after)
    pages = pages_match.group("pages") if pages_match else None
    if pages_match:
        after = _cut(after, *pages_match.span())
    paren = _PAREN.search(after)
    publisher: str | None = None
    if paren:
        publisher = _publisher_of_paren(paren.group(1))
    date = find_date(paren.group(1) if paren else after)
    if date is None and paren:
        date = find_date(after)
    if paren:
        after = _cut(after, *paren.span())
    elif date is not None and _stands_alone(after, date.start, date.end):
        after = _cut(after, date.start, date.end)

    authors: tuple[str, ...] = ()
    if quoted is not None:
        authors = _authors(before)
        rest = _segments(after)
        if publisher is None and rest:
            publisher = rest[0]
    else:
        rest = _segments(after)
        if len(rest) > 1 and all(_is_name(p.strip()) for p in _AUTHOR_SPLIT.split(rest[0])):
            authors, rest = _authors(rest[0]), rest[1:]
        if paren:
            title = ", ".join(rest) or None
        elif len(rest) >= 2:
            title, publisher = ", ".join(rest[:-1]), rest[-1]
        elif rest:
            title = rest[0]

    mentions_social = bool(_SOCIAL_WORDS.search(outside) or _SOCIAL_X.search(outside))
    if social or (mentions_social and not found_urls):
        kind = "social"
    elif found_urls:
        kind = "web"
    elif paren or _ISBN.search(work) or (pages and quoted is None):
        kind = "book"
    elif date is None and quoted is None and len(work.split()) >= 8:
        kind = "note"  # prose: no date, no title, no pages, no URL
    else:
        kind = "web"
    return EntryFields(
        kind=kind, authors=authors, title=title, publisher=publisher,
        date=date.written if date else None, date_iso=date.iso if date else None, pages=pages,
        urls=tuple(found_urls), residue=tuple(residue),
    )
