"""What an HTML page needs to be seen (its page requisites), and the media it embeds.

Pure functions over bytes and strings: the capture spider calls them on a page's response to schedule
one request per requisite (``spiders.capture``), and on a stylesheet's response for the ``url()`` and
``@import`` inside it. Only http and https URLs are returned (``data:`` and ``javascript:`` are no
fetches), without their fragment, each once, in the order a browser needs them: stylesheets first, then
images, scripts, fonts, icons and posters.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

__all__ = ["Requisite", "css_requisites", "html_media", "html_requisites", "is_css", "is_html",
           "may_embed_media", "page_needs"]


class Requisite(NamedTuple):
    """One URL a page needs, and what for (``style``, ``img``, ``script``, ``font``, ``icon`` ...)."""

    url: str
    kind: str


# url(...) with or without quotes, and @import "..." (the url() form is found by the first pattern)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".otf", ".eot")
_ICON_RELS = frozenset({"icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed",
                        "mask-icon"})
_PRELOAD_KINDS = {"style": "style", "image": "img", "font": "font", "script": "script"}
# the order a page's requisites are fetched in (and kept in, when there are more than the count limit)
_ORDER = ("style", "img", "script", "font", "icon", "poster")


def is_html(content_type: str | None) -> bool:
    """True for an HTML or XHTML response's Content-Type."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml")


def is_css(content_type: str | None, url: str = "") -> bool:
    """True for a stylesheet (by Content-Type, or by a ``.css`` path when the type says nothing)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "text/css":
        return True
    return kind in ("", "text/plain", "application/octet-stream") and urlsplit(url).path.endswith(".css")


def _absolute(base: str, ref: str | None) -> str | None:
    """``ref`` resolved against ``base``, without its fragment; None unless it is http(s)."""
    text = (ref or "").strip()
    if not text or text.startswith("#"):
        return None
    try:
        parts = urlsplit(urljoin(base, text))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _srcset(value: str | None) -> list[str]:
    """The candidate URLs of a ``srcset`` (``a.jpg 1x, b.jpg 2x``; a URL may hold commas)."""
    out = []
    for candidate in re.split(r",\s+", (value or "").strip()):
        url = candidate.strip().split(maxsplit=1)[0] if candidate.strip() else ""
        if url:
            out.append(url.rstrip(","))
    return out


def css_requisites(text: str, base_url: str) -> list[Requisite]:
    """The URLs a stylesheet (or a ``style`` attribute) loads: ``@import``s as ``style``, fonts by their
    suffix as ``font``, anything else in ``url()`` as ``img``."""
    found: list[Requisite] = []
    for match in _CSS_IMPORT.finditer(text):
        url = _absolute(base_url, match.group(1) or match.group(2))
        if url:
            found.append(Requisite(url, "style"))
    for match in _CSS_URL.finditer(text):
        url = _absolute(base_url, match.group(1) or match.group(2) or match.group(3))
        if not url:
            continue
        start = text.rfind("@import", 0, match.start())
        if start != -1 and ";" not in text[start:match.start()]:
            found.append(Requisite(url, "style"))
        elif urlsplit(url).path.lower().endswith(_FONT_SUFFIXES):
            found.append(Requisite(url, "font"))
        else:
            found.append(Requisite(url, "img"))
    return _unique(found)


def _parse(body: bytes, encoding: str | None) -> tuple[etree._Element | None, str | None]:
    """The parsed document and its ``<base href>`` (None when the body is no HTML lxml can read)."""
    if not body.strip():
        return None, None
    parser = lxml.html.HTMLParser(encoding=encoding, recover=True, no_network=True,
                                  remove_comments=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(body, parser=parser)
    except (etree.ParserError, ValueError):
        return None, None
    base = root.find(".//base[@href]")
    return root, base.get("href") if base is not None else None


def html_requisites(body: bytes, url: str, encoding: str | None = None) -> list[Requisite]:
    """Everything the HTML page at ``url`` needs to be seen, in fetch order (see the module doc)."""
    return page_needs(body, url, encoding)[0]


def html_media(body: bytes, url: str, encoding: str | None = None) -> list[Requisite]:
    """The video and audio an HTML page embeds (``<video src>``, ``<audio src>``, their ``<source>``s):
    kind ``video`` or ``audio``."""
    return page_needs(body, url, encoding)[1]


def page_needs(body: bytes, url: str, encoding: str | None = None, *, requisites: bool = True
               ) -> tuple[list[Requisite], list[Requisite]]:
    """(``html_requisites``, ``html_media``) of one page, parsed once. With ``requisites`` False the
    first is empty, and a page that names no ``<video>`` or ``<audio>`` is not parsed at all
    (``may_embed_media``: ~2 ms of the crawl's CPU per page of ``capture --no-requisites``)."""
    if not requisites and not may_embed_media(body, encoding):
        return [], []
    root, base_href = _parse(body, encoding)
    if root is None:
        return [], []
    base = urljoin(url, base_href) if base_href else url
    return (_requisites(root, base) if requisites else []), _media(root, base)


def may_embed_media(body: bytes, encoding: str | None = None) -> bool:
    """False only when ``body`` certainly has no ``<video>`` or ``<audio>`` element: its encoding
    writes those tags as ASCII does, and neither is in it (in any case)."""
    try:
        ascii_tags = all(tag.encode(encoding or "utf-8") == tag.encode("ascii") for tag in _MEDIA_TAGS)
    except (LookupError, UnicodeError):  # an encoding Python does not know: parse to be sure
        return True
    if not ascii_tags:  # UTF-16, EBCDIC ...: the bytes say nothing without decoding
        return True
    lowered = body.lower()
    return any(tag.encode("ascii") in lowered for tag in _MEDIA_TAGS)


def _requisites(root: etree._Element, base: str) -> list[Requisite]:
    found: list[Requisite] = []

    def add(ref: str | None, kind: str) -> None:
        resolved = _absolute(base, ref)
        if resolved:
            found.append(Requisite(resolved, kind))

    for el in root.iter(etree.Element):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "link":
            rels = set((el.get("rel") or "").lower().split())
            if "stylesheet" in rels:
                add(el.get("href"), "style")
            elif rels & _ICON_RELS:
                add(el.get("href"), "icon")
            elif "preload" in rels and (el.get("as") or "").lower() in _PRELOAD_KINDS:
                add(el.get("href"), _PRELOAD_KINDS[(el.get("as") or "").lower()])
        elif tag == "img":
            add(el.get("src"), "img")
            for ref in _srcset(el.get("srcset")):
                add(ref, "img")
        elif tag == "source" and el.getparent() is not None and el.getparent().tag == "picture":
            for ref in _srcset(el.get("srcset")):
                add(ref, "img")
        elif tag == "input" and (el.get("type") or "").lower() == "image":
            add(el.get("src"), "img")
        elif tag == "script":
            add(el.get("src"), "script")
        elif tag == "video":
            add(el.get("poster"), "poster")
        elif tag == "style":
            found += css_requisites(el.text_content(), base)
        style = el.get("style")
        if style and "url(" in style:
            found += css_requisites(style, base)
    rank = {kind: i for i, kind in enumerate(_ORDER)}
    return sorted(_unique(found), key=lambda r: rank.get(r.kind, len(rank)))


_MEDIA_TAGS = ("<video", "<audio")  # the elements _media reads (lxml lower-cases tag names)


def _media(root: etree._Element, base: str) -> list[Requisite]:
    found = []
    for el in root.iter("video", "audio"):
        refs = [el.get("src"), *(s.get("src") for s in el.iter("source"))]
        for ref in refs:
            resolved = _absolute(base, ref)
            if resolved:
                found.append(Requisite(resolved, str(el.tag)))
    return _unique(found)


def _unique(found: list[Requisite]) -> list[Requisite]:
    seen: set[str] = set()
    out = []
    for item in found:
        if item.url not in seen:
            seen.add(item.url)
            out.append(item)
    return out
