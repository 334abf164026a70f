"""Making archived HTML safe to show: pure functions from bytes to bytes, plus the CSP headers.

The rewritten page has no scripts, no event handlers, no ``javascript:``/``data:`` navigations, no meta
refresh, no ``<base>``, no plugins, and forms that cannot be sent anywhere. Every http(s) link, image,
stylesheet and frame points back into the archive at the capture's timestamp (``Mapper``); anything else
is made inert. The Content-Security-Policy with ``sandbox`` is the second, independent line of defence:
even a page the rewriter got wrong cannot run a script or reach the archive's origin.

The page is parsed with lxml (libxml2), whose HTML parser is older than a browser's HTML5 parser, so the
output is also made unambiguous for the browser: comments (and conditional comments, CDATA sections,
processing instructions) go, elements and attributes with names a browser would read differently are
unwrapped or dropped, and a ``<style>`` keeps no ``<`` (inside ``<svg>``/``<math>`` a browser parses a
style's content as markup).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml_html_clean import Cleaner

__all__ = ["Mapper", "decode_html", "framed_csp", "inert_page", "raw_csp", "rewrite_css", "rewrite_html",
           "safe_url"]

#: (absolute URL, kind) -> archive URL; kind is "page" (navigation), "embed" (image, script, font ...),
#: "style" (a stylesheet: ``<link rel=stylesheet>``, ``@import``; its own url()s need rewriting too)
#: or "frame" (an iframe's document).
Mapper = Callable[[str, str], str]

_DROP_TAGS = {"script", "base", "param", "portal", "template"}
# plugins: the element goes, what is inside it (fallback content, or the rest of the page when a parser
# took an unclosed <embed> for a container) stays
_UNWRAP_TAGS = {"object", "embed", "applet"}
_DROP_LINK_RELS = {"preload", "prefetch", "dns-prefetch", "preconnect", "modulepreload", "manifest",
                   "serviceworker", "prerender", "import", "pingback"}
_DROP_ATTRS = {"ping", "manifest", "formaction", "action", "method", "target", "integrity", "nonce",
               "http-equiv", "srcdoc"}
_EMBED_ATTRS = {"src", "poster", "background", "data", "lowsrc", "dynsrc"}
_PAGE_ATTRS = {"href", "cite", "longdesc", "xlink:href"}
_SRCSET_ATTRS = {"srcset", "imagesrcset"}
_FRAME_TAGS = {"iframe", "frame"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I | re.S)
_IMPORT_BEFORE = re.compile(r"@import\s*$", re.I)  # ``@import url(...)``: a stylesheet too
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_CTRL = re.compile(r"[\x00-\x20\x7f]+")
# names a browser reads as lxml does; anything else (``scr<script``, ``"""``) is not kept as a name
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*(:[A-Za-z][A-Za-z0-9._-]*)?")
_ATTR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(:[A-Za-z_][A-Za-z0-9_.-]*)?")
_SCRIPT_URL = re.compile(r"(java|vb)script:", re.I)
# attributes holding prose, where the words "javascript:" are text, not a URL
_TEXT_ATTRS = {"alt", "title", "placeholder", "label", "value", "content", "summary", "abbr"}
# scripts, comments (conditional comments, CDATA tricks) and processing instructions: lxml_html_clean's
# Cleaner with everything else of ours to do (links, styles, frames, forms are rewritten, not removed)
_CLEANER = Cleaner(scripts=True, comments=True, processing_instructions=True, javascript=False,
                   style=False, inline_style=False, links=False, meta=False, page_structure=False,
                   embedded=False, frames=False, forms=False, annoying_tags=False,
                   remove_unknown_tags=False, safe_attrs_only=False)


def safe_url(value: str, base: str) -> str | None:
    """``value`` resolved against ``base`` when it is an http(s) URL; None for anything else
    (``javascript:``, ``data:``, ``mailto:`` ... even when disguised with whitespace or control chars)."""
    cleaned = _CTRL.sub("", value)
    if not cleaned or cleaned.startswith("#"):
        return None
    try:
        absolute = urljoin(base, value.strip())
    except ValueError:
        return None
    scheme = _CTRL.sub("", absolute).split(":", 1)[0].lower()
    return absolute if scheme in ("http", "https") else None


def decode_html(body: bytes, charset: str | None) -> str:
    """Text of an HTML payload: the header's charset, else a ``<meta charset>``, else UTF-8, else cp1252."""
    candidates = [charset] if charset else []
    found = _META_CHARSET.search(body[:4096])
    if found:
        candidates.append(found.group(1).decode("ascii", "replace"))
    for name in [*candidates, "utf-8"]:
        try:
            return body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")


def rewrite_css(css: str, base: str, mapper: Mapper) -> str:
    """Point every ``url(...)`` and ``@import`` of a stylesheet into the archive (others become inert)."""
    def repl(match: re.Match[str]) -> str:
        raw = match.group(2) if match.group(2) is not None else match.group(4)
        target = safe_url(raw or "", base)
        imported = match.group(4) is not None or bool(
            _IMPORT_BEFORE.search(match.string, max(0, match.start() - 40), match.start()))
        kind = "style" if imported else "embed"
        mapped = mapper(target, kind) if target else "about:invalid"
        return f'url("{mapped}")' if match.group(4) is None else f'@import "{mapped}"'

    return _CSS_URL.sub(repl, css)


def _srcset(value: str, base: str, mapper: Mapper) -> str:
    out = []
    for candidate in value.split(","):
        bits = candidate.strip().split()
        if not bits:
            continue
        target = safe_url(bits[0], base)
        if target:
            out.append(" ".join([mapper(target, "embed"), *bits[1:]]))
    return ", ".join(out)


def _clean_element(el: etree._Element, base: str, mapper: Mapper) -> None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    # read with items(): lxml refuses to look up or delete a name it takes for an empty Clark name
    # (``{count}="1"``, "Empty tag name"), so the kept attributes are set anew on a cleared element
    attributes = list(el.items())
    kept: list[tuple[str, str]] = []
    for name, value in attributes:
        lname = name.lower()
        if not _ATTR_NAME.fullmatch(name) or lname.startswith("on") or lname in _DROP_ATTRS:
            continue
        if lname in _SRCSET_ATTRS:
            value = _srcset(value, base, mapper)
        elif lname == "style":
            value = rewrite_css(value, base, mapper)
        elif lname in _EMBED_ATTRS or lname in _PAGE_ATTRS:
            target = safe_url(value, base)
            if target is None:
                continue
            if tag in _FRAME_TAGS and lname == "src":
                value = mapper(target, "frame")
            elif lname in _PAGE_ATTRS and tag in ("a", "area"):
                value = mapper(target, "page")
            elif tag == "link" and "stylesheet" in (el.get("rel") or "").lower().split():
                value = mapper(target, "style")
            else:
                value = mapper(target, "embed")
        elif re.match(r"(java|vb)script:|data:", _CTRL.sub("", value).lower()):
            continue
        elif lname not in _TEXT_ATTRS and _SCRIPT_URL.search(_CTRL.sub("", value)):
            continue  # e.g. SVG <animate values="x;javascript:...">
        kept.append((name, value))
    if tag in ("a", "area") and any(name.lower() == "href" for name, _ in kept):
        kept = [(n, v) for n, v in kept if n.lower() not in ("target", "rel")]
        kept += [("target", "_top"),  # a click opens the archived page with its banner
                 ("rel", "noopener noreferrer")]
    if kept != attributes:
        el.attrib.clear()
        for name, value in kept:
            el.set(name, value)


def rewrite_html(text: str, *, base: str, mapper: Mapper, notice: str | None = None) -> bytes:
    """Archived HTML (already decoded) made inert and pointed into the archive; UTF-8 bytes out.

    ``base`` is the URL the page was served from (its final URL); a ``<base href>`` in the page is
    honoured for resolving links and then removed. A ``notice`` (e.g. that the page is shown only in
    part) is put first in the body, as text.

    Rewriting never fails a page: one the rewriter cannot handle (lxml refuses something in it) is
    served as its escaped source under a notice saying so (``inert_page``): nothing in it can run.
    """
    try:
        return _rewrite(text, base=base, mapper=mapper, notice=notice)
    except Exception as exc:  # any page at all must be answered: shown inert, with the reason
        return inert_page(text, reason=f"{type(exc).__name__}: {exc}", notice=notice)


def inert_page(text: str, *, reason: str, notice: str | None = None) -> bytes:
    """An HTML page that shows ``text`` (an archived page's source) escaped, as plain text, under a
    notice that it could not be rewritten (``reason``): no markup of the source survives."""
    notes = [notice] if notice else []
    notes.append(f"This archived page could not be rewritten for replay ({reason}); "
                 "its source is shown as text. The raw capture can be downloaded as archived.")
    paragraphs = "".join(
        '<p class="archive-notice" role="status" '
        f'style="background:#fff3cd;color:#000;padding:.5em;margin:0">{escape(n)}</p>'
        for n in notes)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>' + paragraphs
            + '<pre style="white-space:pre-wrap">' + escape(text) + "</pre></body></html>"
            ).encode("utf-8", "replace")


def _rewrite(text: str, *, base: str, mapper: Mapper, notice: str | None) -> bytes:
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        doc = lxml.html.document_fromstring(text or "<html></html>")
    except (etree.ParserError, ValueError):
        doc = lxml.html.document_fromstring("<html><body></body></html>")
    base_el = doc.find(".//base[@href]")
    if base_el is not None:
        base = safe_url(base_el.get("href", ""), base) or base
    _CLEANER(doc)
    for el in list(doc.iter()):
        if not isinstance(el.tag, str):  # what the cleaner left of comments and instructions
            _drop(el)
            continue
        if not _TAG_NAME.fullmatch(el.tag):
            if el.getparent() is not None:
                el.drop_tag()  # the text stays, the odd element goes
            continue
        tag = el.tag.lower().rsplit(":", 1)[-1]
        if tag in _DROP_TAGS:
            _drop(el)
        elif tag in _UNWRAP_TAGS and el.getparent() is not None:
            el.drop_tag()
            continue
        elif tag == "meta" and (el.get("http-equiv") or el.get("charset") is not None):
            _drop(el)  # refresh, set-cookie, CSP, charset (re-declared below)
        elif tag == "link" and set((el.get("rel") or "").lower().split()) & _DROP_LINK_RELS:
            _drop(el)
        elif tag == "style" and el.text:
            # "\3c " is "<" to CSS; never a tag to an HTML parser
            el.text = rewrite_css(el.text, base, mapper).replace("<", "\\3c ")
        if el.getparent() is not None or el is doc:
            _clean_element(el, base, mapper)
    head = doc.find("head")
    if head is None:
        head = etree.Element("head")
        doc.insert(0, head)
    meta = etree.Element("meta", charset="utf-8")
    head.insert(0, meta)
    if notice:
        body = doc.find("body")
        if body is None:
            body = etree.SubElement(doc, "body")
        note = etree.Element("p", {"class": "archive-notice", "role": "status",
                                   "style": "background:#fff3cd;color:#000;padding:.5em;margin:0"})
        note.text = notice
        note.tail = body.text
        body.text = None
        body.insert(0, note)
    html: str = lxml.html.tostring(doc, encoding="unicode", method="html")
    return ("<!DOCTYPE html>\n" + html).encode("utf-8")


def _drop(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:  # keep the text that followed the element
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def framed_csp(replay_origin: str, main_origin: str) -> str:
    """CSP of rewritten archived HTML: sandboxed (no scripts, no same-origin, no forms, no popups; top
    navigation only by a user's click), loading nothing but archived resources."""
    src = f"{replay_origin} data:"
    return ("sandbox allow-top-navigation-by-user-activation; default-src 'none'; "
            f"img-src {src}; style-src {replay_origin} 'unsafe-inline'; font-src {src}; "
            f"media-src {replay_origin}; frame-src {replay_origin}; form-action 'none'; base-uri 'none'; "
            f"frame-ancestors {main_origin} {replay_origin}")


def pdf_csp(replay_origin: str, main_origin: str) -> str:
    """CSP of an archived PDF embedded under the memento banner (issue 17): no ``sandbox`` (a browser
    refuses to show a PDF in a sandboxed document: it would only offer a download), but nothing of the
    document's own may load or run, and only the archive's pages may frame it."""
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; "
            f"base-uri 'none'; frame-ancestors {main_origin} {replay_origin}")


def raw_csp(replay_origin: str) -> str:
    """CSP of raw archived payloads (``id_``): opened on its own, nothing in it can run."""
    return (f"sandbox; default-src 'none'; img-src {replay_origin} data:; "
            f"style-src {replay_origin} 'unsafe-inline'; font-src {replay_origin} data:; "
            f"media-src {replay_origin}; form-action 'none'; base-uri 'none'")
