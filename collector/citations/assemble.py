"""From an extracted report to its citations: entries, body markers and outbound links, merged by ref."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from collector.citations.document import Extracted, Link, RawEntry
from collector.citations.entries import EntryFields, parse_entry
from collector.citations.markers import Marker, find_markers
from collector.citations.model import Citation, ParsedReport
from collector.citations.notes import split_notes
from collector.citations.quotes import quotes_for_marker
from collector.citations.sentences import Sentences
from collector.citations.urls import find_urls, is_social_url

__all__ = ["build_report"]

_SHORT_CONTEXT = 4  # words; a shorter sentence ("Free Palestine!” [25]") gets the one before it too


@dataclass
class _Ref:
    """What is known about one ref while the report is assembled."""

    ref: str
    first: int  # position used for ordering: body offset, or past the body for entries only
    entry: RawEntry | None = None
    fields: EntryFields | None = None
    markers: list[Marker] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # from links on the marker itself
    quotes: list[str] = field(default_factory=list)
    ibid_of: str | None = None


def _entries(ex: Extracted, warnings: list[str]) -> tuple[str, list[RawEntry]]:
    """The body text and every notes entry: the reader's own, then those found at the end of the text."""
    split = split_notes(ex.text)
    body = ex.text[:split.body_end]
    entries = list(ex.entries)
    starts = [link.start for link in ex.links]
    for found in split.entries:
        low, high = bisect.bisect_left(starts, found.start), bisect.bisect_left(starts, found.end)
        links = [link for link in ex.links[low:high] if link.end > link.start]
        entries.append(RawEntry(
            label=found.label, text=found.text, where=ex.where_at(found.start),
            urls=[link.url for link in links], anchor_text=_anchor(links),
        ))
    for index, text in split.ignored:
        where = ex.where[index] if ex.where and index < len(ex.where) else f"line {index + 1}"
        warnings.append(f"text in the notes at {where} belongs to no entry and was ignored: {text[:80]!r}")
    return body, entries


def _anchor(links: list[Link]) -> str | None:
    for link in links:
        text = " ".join(link.text.split())
        if text and text != link.url:
            return text
    return None


def _context(sentences: Sentences, start: int, end: int) -> str | None:
    sentence = sentences.around(start, end)
    if sentence is not None and len(sentence.split()) < _SHORT_CONTEXT + 1:
        index = bisect.bisect_right(sentences.starts, start) - 1
        if index > 0 and sentences.text[sentences.starts[index] - 1] != "\n":
            previous = sentences.around(sentences.starts[index - 1])
            if previous:
                sentence = f"{previous} {sentence}"
    return sentence


def _resolve_ibids(refs: dict[str, _Ref], order: list[str], warnings: list[str]) -> None:
    """Point each ibid at the entry it repeats: the previous entry, or the author's last for op. cit."""
    previous: str | None = None
    for position, ref in enumerate(order):
        item = refs[ref]
        if item.fields is None:
            continue
        if item.fields.kind != "ibid":
            previous = ref
            continue
        target: str | None = None
        if item.fields.op_cit:
            surname = item.fields.op_cit.split()[-1].lower()
            for earlier in reversed(order[:position]):
                fields = refs[earlier].fields
                if fields and fields.kind != "ibid" and any(surname in a.lower() for a in fields.authors):
                    target = earlier
                    break
        else:
            target = previous
        if target is not None and refs[target].ibid_of:
            target = refs[target].ibid_of
        item.ibid_of = target
        if target is None:
            warnings.append(f"notes entry [{ref}] repeats an earlier entry (ibid) but none comes before it")
        if not item.fields.op_cit:
            previous = ref  # a following "Ibid." repeats what this one repeats


def build_report(ex: Extracted) -> ParsedReport:
    """Merge the extracted report's entries, markers and links into ``ParsedReport``."""
    warnings = list(ex.warnings)
    body, entries = _entries(ex, warnings)
    refs: dict[str, _Ref] = {}
    entry_order: list[str] = []
    for number, entry in enumerate(entries):
        if entry.label in refs:
            warnings.append(f"notes entry [{entry.label}] at {entry.where} repeats an earlier label; ignored")
            continue
        fields = parse_entry(entry.text, entry.urls)
        if fields.residue:
            warnings.append(f"notes entry [{entry.label}]: ignored what a stripped link left behind: "
                            + ", ".join(repr(r) for r in fields.residue))
        refs[entry.label] = _Ref(entry.label, len(body) + number, entry=entry, fields=fields)
        entry_order.append(entry.label)
    _resolve_ibids(refs, entry_order, warnings)

    markers = find_markers(body, set(refs))
    marker_spans = [(m.start, m.end) for m in markers]
    marker_starts = [m.start for m in markers]
    body_links = [link for link in ex.links if link.end <= len(body)]
    link_on_marker: set[int] = set()
    for index, link in enumerate(body_links):
        low = bisect.bisect_left(marker_starts, link.start)
        for pos in range(max(0, low - 1), min(len(markers), low + 2)):
            start, end = marker_spans[pos]
            if start < link.end and link.start < end:
                item = refs.setdefault(markers[pos].ref, _Ref(markers[pos].ref, start))
                if link.url not in item.urls:
                    item.urls.append(link.url)
                link_on_marker.add(index)

    sentences = Sentences(body)
    distinct: list[str] = []
    for marker in markers:
        item = refs.setdefault(marker.ref, _Ref(marker.ref, marker.start))
        if not item.markers:
            distinct.append(marker.ref)
            item.first = marker.start
        item.markers.append(marker)
        for quote in quotes_for_marker(body, marker.start, marker.end):
            if quote not in item.quotes:
                item.quotes.append(quote)

    citations = [_citation(item, refs, sentences, ex, warnings) for item in refs.values()]
    citations.extend(_link_citations(ex, body, body_links, link_on_marker, refs, sentences))
    citations.sort(key=_sort_key)
    return ParsedReport(
        format=ex.format, title=ex.title, body=body, citations=tuple(c for c, _ in citations),
        markers=tuple(distinct), warnings=tuple(warnings),
    )


def _sort_key(pair: tuple[Citation, int]) -> tuple[int, int, int]:
    citation, first = pair
    number = citation.ref.lstrip("^")
    return (0, int(number), first) if number.isdigit() else (1, 0, first)


def _citation(item: _Ref, refs: dict[str, _Ref], sentences: Sentences, ex: Extracted,
              warnings: list[str]) -> tuple[Citation, int]:
    fields = item.fields
    urls = list(dict.fromkeys([*(fields.urls if fields else ()), *item.urls]))
    context = _context(sentences, item.markers[0].start, item.markers[0].end) if item.markers else None
    where = item.entry.where if item.entry else (ex.where_at(item.markers[0].start) if item.markers else None)
    if fields is None:
        kind = ("social" if any(is_social_url(u) for u in urls) else "web") if urls else "unknown"
        return Citation(
            ref=item.ref, kind=kind, urls=tuple(urls), context=context, quotes=tuple(item.quotes),
            in_body=bool(item.markers), has_entry=False, needs_url=not urls, where=where,
        ), item.first
    assert item.entry is not None
    if not item.markers:
        warnings.append(f"notes entry [{item.ref}] at {item.entry.where} has no marker in the body")
    kind = fields.kind
    if kind == "web" and any(is_social_url(u) for u in urls):
        kind = "social"
    authors, title, publisher = fields.authors, fields.title, fields.publisher
    date, date_iso = fields.date, fields.date_iso
    target = refs[item.ibid_of].fields if item.ibid_of else None
    if target is not None:  # an ibid reads as the entry it repeats
        authors, title = authors or target.authors, title or target.title
        publisher = publisher or target.publisher
        date, date_iso = date or target.date, date_iso or target.date_iso
    return Citation(
        ref=item.ref, kind=kind, raw=item.entry.source or item.entry.text, authors=authors, title=title,
        publisher=publisher, date=date, date_iso=date_iso, pages=fields.pages, urls=tuple(urls),
        ibid_of=item.ibid_of,
        anchor_text=item.entry.anchor_text, context=context, quotes=tuple(item.quotes),
        in_body=bool(item.markers), has_entry=True, needs_url=kind in ("web", "social") and not urls,
        where=where,
    ), item.first


def _link_citations(ex: Extracted, body: str, links: list[Link], skip: set[int], refs: dict[str, _Ref],
                    sentences: Sentences) -> list[tuple[Citation, int]]:
    """One ``link-N`` citation per distinct URL linked (or written out) in the body and not on a marker."""
    cited = {url for item in refs.values() for url in item.urls}
    cited.update(url for item in refs.values() if item.fields for url in item.fields.urls)
    spans = [(link.start, link.end, link.url, link.text) for i, link in enumerate(links) if i not in skip]
    spans.extend((s, e, u, "") for s, e, u in find_urls(body))
    spans.sort()
    covered_until = -1
    out: list[tuple[Citation, int]] = []
    for start, end, url, text in spans:
        if not text and start < covered_until:
            continue  # a URL written as the anchor text of a link
        covered_until = max(covered_until, end)
        if url in cited:
            continue
        cited.add(url)
        anchor = " ".join(text.split()) or None
        out.append((Citation(
            ref=f"link-{len(out) + 1}", kind="social" if is_social_url(url) else "web", urls=(url,),
            anchor_text=anchor if anchor != url else None, context=sentences.around(start, end),
            in_body=True, has_entry=False, needs_url=False, where=ex.where_at(start),
        ), start))
    return out
