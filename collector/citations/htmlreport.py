"""HTML reports: the article's text with its outbound links as spans, and its footnotes as entries.

Footnotes are recognised by structure: an in-page link whose text is a marker (``1``, ``[1]``, ``*``)
pointing forward to a list item or note paragraph (Pandoc, WordPress plugins, Word's ``_ftn1``,
Wikipedia), and lists in containers named footnotes, endnotes or references. In the body such a link
becomes the marker ``[1]`` (``[^a]`` for a non-numeric label), as does a ``<sup>`` holding a number.
Notes written as paragraphs starting ``[1]`` at the end are left to the text rules.
"""

from __future__ import annotations

import re

from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html  # type: ignore[import-untyped]

from collector.citations.decode import declared_charset, decode_text
from collector.citations.document import Extracted, Link, RawEntry
from collector.citations.errors import ReportParseError
from collector.citations.htmlchrome import content_root, is_chrome_link, is_notes_container, strip_chrome
from collector.citations.urls import host_of, is_social_url, resolve_url

__all__ = ["read_html"]

_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3",
          "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "figure", "figcaption", "hr", "address",
          "details", "summary", "header", "footer", "aside", "nav", "center", "caption", "tbody", "thead"}
_MARKER_TEXT = re.compile(r"\[?\(?\^?(\d{1,5}|[*†‡§]{1,3}|[a-z]|[ivxlc]{1,6})\)?\]?\.?")
_NUMBER_TEXT = re.compile(r"\[?\(?(\d{1,5}(?:\s*[,–-]\s*\d{1,5})*)\)?\]?")
_LABEL_PREFIX = re.compile(r"\s*(?:\[\d{1,5}\]|\d{1,5}[.)]|\^|↑|↩︎?|⤴)\s*")
_BACKLINK_TEXT = re.compile(r"\s*(?:↩︎?|↑|\^|⤴|back|return|[a-z]?)\s*", re.I)
_WS = re.compile(r"\s+")
_NOTE_CLASS = re.compile(r"foot-?note|end-?note|sidenote", re.I)
_NOTE_ID = re.compile(r"(?:_?ftn|_?edn|fn|footnote|endnote|note|cite[-_]note)[-_:]?\w*?\d+", re.I)
_MAX_DEPTH = 300
_MAX_NOTE = 3000  # characters: a longer element pointed at is a section, not a note


class _Writer:
    """Accumulates text, link spans and per-line source locations while walking the tree."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.links: list[Link] = []
        self.where: list[str] = ["line 1"]

    def text(self, value: str | None) -> None:
        if not value:
            return
        value = _WS.sub(" ", value)
        if value.startswith(" ") and (not self.parts or self.parts[-1][-1:] in (" ", "\n")):
            value = value[1:]
        if value:
            self.parts.append(value)
            self.size += len(value)

    def raw(self, value: str) -> None:
        self.parts.append(value)
        self.size += len(value)

    def newline(self, line: int | None) -> None:
        if self.parts and self.parts[-1][-1:] != "\n":
            self.raw("\n")
            self.where.append(f"line {line}" if line else self.where[-1])
        elif line:
            self.where[-1] = f"line {line}"

    def result(self) -> str:
        return "".join(self.parts)


class _Page:
    """One parsed page: its base URL, site and the footnote structure found in it.

    ``root`` is the report's own content; footnotes it points to may sit anywhere in ``doc``.
    """

    def __init__(self, root: lxml_html.HtmlElement, doc: lxml_html.HtmlElement, base: str | None) -> None:
        self.root = root
        self.doc = doc
        self.base = base
        self.site = host_of(base) if base else None
        self.refs: dict[lxml_html.HtmlElement, str] = {}  # footnote-reference anchor -> label
        self.notes: dict[lxml_html.HtmlElement, str] = {}  # note container -> label
        self.labels: set[str] = set()
        self.order: list[lxml_html.HtmlElement] = []

    def find_footnotes(self) -> None:
        position = {el: i for i, el in enumerate(self.doc.iter())}
        targets: dict[str, lxml_html.HtmlElement] = {}
        for el in self.doc.iter():
            if not isinstance(el.tag, str):
                continue
            for key in (el.get("id"), el.get("name") if el.tag == "a" else None):
                if key and key not in targets:
                    targets[key] = el
        for anchor in self.root.iter("a"):
            href = anchor.get("href", "")
            if not href.startswith("#") or len(href) < 2:
                continue
            text = anchor.text_content().strip()
            marker = _MARKER_TEXT.fullmatch(text)
            target = targets.get(href[1:])
            if marker is None or target is None:
                continue
            container = _note_container(target)
            if container is None or position.get(container, -1) < position.get(anchor, 0):
                continue
            if any(a is container for a in anchor.iterancestors()):
                continue
            label = container_label = self.notes.get(container)
            if label is None:
                value = marker.group(1)
                label = value if value.isdigit() else f"^{value}"
                label = str(int(label)) if label.isdigit() else label
                if label in self.labels:
                    continue
                self.notes[container] = label
                self.labels.add(label)
                self.order.append(container)
            self.refs[anchor] = container_label or label
        for holder in self.root.iter("ol", "ul"):
            if not (is_notes_container(holder) or any(is_notes_container(a) for a in holder.iterancestors())):
                continue
            start = int(holder.get("start", "1")) if holder.get("start", "1").isdigit() else 1
            for number, item in enumerate(holder.findall("li"), start=start):
                if item not in self.notes and str(number) not in self.labels:
                    self.notes[item] = str(number)
                    self.labels.add(str(number))
                    self.order.append(item)

    def link_url(self, anchor: lxml_html.HtmlElement) -> str | None:
        url = resolve_url(anchor.get("href", ""), self.base)
        if url is None or is_chrome_link(url, anchor, self.site):
            return None
        if self.base and url.split("#")[0] == self.base.split("#")[0]:
            return None
        return url


def _looks_like_note(el: lxml_html.HtmlElement) -> bool:
    return (is_notes_container(el) or bool(_NOTE_CLASS.search(el.get("class", "")))
            or bool(_NOTE_ID.fullmatch(el.get("id", ""))))


def _note_container(target: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The list item or note paragraph an in-page link points into; ``None`` for headings and sections."""
    el: lxml_html.HtmlElement | None = target
    for _ in range(4):
        if el is None:
            return None
        if el.tag in ("li", "dd"):
            return el
        if el.tag in ("p", "div", "aside", "span", "section") and (
            _looks_like_note(el) or (el is target and el.tag in ("p", "div", "aside")
                                     and len(el.text_content()) < _MAX_NOTE)
        ):
            return el
        if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "body", "main", "article"):
            return None
        el = el.getparent()
    return None


def _walk(page: _Page, el: lxml_html.HtmlElement, out: _Writer, *, skip_notes: bool, depth: int = 0,
          number: int | None = None) -> None:
    """Write ``el``'s text (not its tail) into ``out``; ``number`` is an ordered-list item's number."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if skip_notes and el in page.notes:
        return
    if tag in _BLOCK:
        out.newline(el.sourceline)
    if tag == "br":
        out.newline(el.sourceline)
    elif tag == "a" and el in page.refs:
        label = page.refs[el]
        out.text(" " if out.parts and out.parts[-1][-1:].isalnum() else "")
        out.raw(f"[{label}]")
        return
    elif tag == "iframe":
        url = resolve_url(el.get("src", ""), page.base)
        if url and is_social_url(url):
            out.links.append(Link(out.size, out.size, url, ""))
        return
    elif tag == "sup" and el.find(".//a") is None:
        digits = _NUMBER_TEXT.fullmatch(el.text_content().strip())
        if digits and not (out.parts and out.parts[-1][-1:].isdigit()):
            out.raw(f"[{digits.group(1)}]")
            return
    elif tag == "a" and el.get("href"):
        url = page.link_url(el)
        if url is not None:
            start, index = out.size, len(out.parts)
            _children(page, el, out, skip_notes=skip_notes, depth=depth)
            written = "".join(out.parts[index:])
            digits = _NUMBER_TEXT.fullmatch(written.strip())
            if digits:  # a marker that is itself the link: [3] with the URL on it
                written = f"[{digits.group(1)}]"
                del out.parts[index:]
                out.raw(written)
                out.size = start + len(written)
            out.links.append(Link(start, out.size, url, written.strip()))
            return
    elif tag == "li" and number is not None:
        out.raw(f"{number}. ")
    elif tag in ("td", "th"):
        out.text(" | ")
    _children(page, el, out, skip_notes=skip_notes, depth=depth)
    if tag in _BLOCK:
        out.newline(None)


def _children(page: _Page, el: lxml_html.HtmlElement, out: _Writer, *, skip_notes: bool, depth: int) -> None:
    out.text(el.text)
    start = el.get("start", "1")
    number = int(start) if el.tag == "ol" and start.isdigit() else None
    for child in el:
        if depth < _MAX_DEPTH:
            _walk(page, child, out, skip_notes=skip_notes, depth=depth + 1, number=number)
            if number is not None and child.tag == "li":
                number += 1
        elif isinstance(child.tag, str):
            out.text(child.text_content())
        out.text(child.tail)


def _entry(page: _Page, container: lxml_html.HtmlElement, label: str) -> RawEntry:
    """A footnote container as a notes entry: its text without backlinks, and its outbound links."""
    for anchor in list(container.iter("a")):
        href = anchor.get("href", "")
        if href.startswith("#") and (_BACKLINK_TEXT.fullmatch(anchor.text_content())
                                     or _MARKER_TEXT.fullmatch(anchor.text_content().strip())):
            anchor.drop_tree()
    out = _Writer()
    _children(page, container, out, skip_notes=False, depth=0)
    text = out.result()
    lead = _LABEL_PREFIX.match(text)
    cut = lead.end() if lead else 0
    body = text[cut:].strip()
    shift = cut + (len(text[cut:]) - len(text[cut:].lstrip()))
    links = [Link(lk.start - shift, lk.end - shift, lk.url, lk.text) for lk in out.links]
    anchor_text = next((lk.text for lk in links if lk.text and lk.text != lk.url), None)
    where = f"line {container.sourceline}" if container.sourceline else None
    return RawEntry(label=label, text=body, where=where, urls=list(dict.fromkeys(lk.url for lk in links)),
                    anchor_text=anchor_text)


def _base_url(doc: lxml_html.HtmlElement, given: str | None) -> str | None:
    if given:
        return given
    for path in ("//base/@href", "//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content"):
        found = doc.xpath(path)
        if found and str(found[0]).startswith(("http://", "https://")):
            return str(found[0])
    return None


def _title(doc: lxml_html.HtmlElement, root: lxml_html.HtmlElement) -> str | None:
    for candidates in (root.xpath(".//h1"), doc.xpath("//h1"), doc.xpath("//meta[@property='og:title']"),
                       doc.xpath("//title")):
        for el in candidates:
            text = " ".join((el.get("content") if el.tag == "meta" else el.text_content() or "").split())
            if text:
                return text
    return None


def read_html(data: bytes, *, name: str, content_type: str | None = None,
              base_url: str | None = None) -> Extracted:
    """Read an HTML report; ``base_url`` resolves relative links and names the report's own site."""
    source = decode_text(data, name=name, charset=declared_charset(data, content_type))
    source = re.sub(r"^\s*<\?xml[^>]*\?>", "", source)
    try:
        doc = lxml_html.document_fromstring(source)
    except (etree.ParserError, ValueError) as exc:
        raise ReportParseError(f"{name}: not readable as HTML ({exc})") from exc
    base = _base_url(doc, base_url)
    root = content_root(doc)
    title = _title(doc, root)
    strip_chrome(root)
    page = _Page(root, doc, base)
    page.find_footnotes()
    out = _Writer()
    _walk(page, root, out, skip_notes=True)
    text = out.result()
    if not text.strip():
        raise ReportParseError(f"{name}: no text in the HTML page")
    entries = [_entry(page, container, page.notes[container]) for container in page.order]
    return Extracted(format="html", text=text, title=title, links=out.links, entries=entries, where=out.where)
