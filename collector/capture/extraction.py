"""Main-text extraction (trafilatura for HTML, pypdf for PDF) and text normalization.

Pure functions: bytes in, values out. ``extract_archived`` is what extraction worker processes run: it
reads the payload back from the WARC file (so it extracts exactly what was archived, and the crawl
never holds payloads in memory waiting for a worker).

Statuses: ``ok`` (text found), ``empty`` (an HTML page without main text), ``no-text`` (a PDF without
a text layer, e.g. scanned: it needs OCR), ``not-html`` (a type that is not extracted), ``too-large``
(an HTML page over ``HTML_MAX_BYTES`` decoded or with more than ``HTML_MAX_TAGS`` tags: trafilatura's
lxml trees take ~1.5 KB per element, so a 5 MB flood of ``<p>a</p>`` drove a worker to ~1 GB),
``error`` (undecodable payload, unreadable or encrypted PDF); the pool adds ``timeout``, and
``too-large`` for a page that drove its worker over its memory limit.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.errors import ContentDecodeError, DecodedTooLargeError
from storage.retrieve import decode_content, extracted_type, header_value
from storage.warcread import read_record_at

if TYPE_CHECKING:
    from storage.records import CaptureRecord

__all__ = [
    "HTML_MAX_BYTES",
    "HTML_MAX_TAGS",
    "PDF_MAX_PAGES",
    "awaits_extraction",
    "extract_archived",
    "extract_html",
    "extract_pdf",
    "html_over_limits",
    "is_extracted",
    "is_html",
    "is_pdf",
    "normalize_text",
    "text_sha256",
]

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPES = ("application/pdf", "application/x-pdf")
HTML_MAX_BYTES = 8 * 1024 * 1024  # decoded bytes of an HTML page given to trafilatura (Config default)
HTML_MAX_TAGS = 100_000  # "<" characters (an upper bound of its elements) of one (Config default)
PDF_MAX_PAGES = 1000  # pages of a PDF whose text is extracted (the pool's timeout bounds the time)
_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n{3,}")


def is_html(content_type: str | None) -> bool:
    """True for HTML and XHTML content types."""
    return bool(content_type and content_type.split(";")[0].strip().lower() in HTML_TYPES)


def is_pdf(content_type: str | None) -> bool:
    """True for a PDF content type."""
    return bool(content_type and content_type.split(";")[0].strip().lower() in PDF_TYPES)


def is_extracted(content_type: str | None) -> bool:
    """True for the content types whose text is extracted (HTML, XHTML and PDF)."""
    return extracted_type(content_type)


def awaits_extraction(record: CaptureRecord) -> bool:
    """True for a capture whose text a writer extracts and has not yet: a page (not a requisite, nor
    a revisit, whose text is its original's) of an extracted type with no extraction status yet."""
    return (record.outcome == "captured"
            and record.page_id is None  # a page requisite has no text of its own
            and record.extraction_status is None and record.payload_file is not None
            and record.revisit_of is None  # a revisit's text is its original's
            and is_extracted(record.content_type))


def normalize_text(text: str) -> str:
    """Unicode NFC, every run of horizontal whitespace as one space, lines trimmed, blank lines folded.

    Two texts that differ only in spacing, line-end style or Unicode composition normalize equally.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00ad", "").replace("\u200b", "").replace("\ufeff", "")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def text_sha256(text: str) -> str:
    """Hex sha256 of the normalized text, UTF-8 encoded."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def html_over_limits(html: bytes, max_bytes: int, max_tags: int) -> str | None:
    """Why ``html`` is too large to give to the extractor (bytes or tags over their cap), or None.

    ``<`` characters are counted: an upper bound of the elements lxml would build, found without
    parsing (the parse is what costs the memory).
    """
    if len(html) > max_bytes:
        return f"the page is {len(html)} bytes decoded, over the extraction limit of {max_bytes}"
    tags = html.count(b"<")
    if tags > max_tags:
        return f"the page has {tags} tags, over the extraction limit of {max_tags}"
    return None


def extract_html(html: bytes, url: str | None = None) -> dict[str, Any]:
    """Main text, title, published date and language of an HTML page (trafilatura).

    The page is parsed once and not copied: the title and date are read from the tree first
    (``pagemeta``: only the metadata collector keeps; it leaves the tree as it was), then the main
    text is extracted from the tree itself (``pagetext``: ``bare_extraction``'s steps, which prune it).
    """
    from trafilatura.utils import load_html  # lazy: ~70 MB, loaded by the extraction workers only

    from collector.capture.pagemeta import page_metadata  # (the same: they import trafilatura)
    from collector.capture.pagetext import main_text

    tree = load_html(html)
    meta = None if tree is None else page_metadata(tree, url)
    found = None if tree is None else main_text(tree, url)
    if found is None or meta is None:
        return {"status": "empty", "text": "", "text_sha256": text_sha256(""), "title": None,
                "published": None, "language": None}
    text = normalize_text(found)
    return {
        "status": "ok" if text else "empty",
        "text": text,
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "title": meta["title"],
        "published": meta["published"],
        "language": None,  # bare_extraction sets it only when a target language is asked for
    }


def _pdf_date(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def extract_pdf(data: bytes, *, max_pages: int = PDF_MAX_PAGES,
                max_chars: int | None = None) -> dict[str, Any]:
    """The text layer of a PDF (pypdf), its title and creation date, in the shape of ``extract_html``.

    At most ``max_pages`` pages and ``max_chars`` characters of text are read (``error`` then says
    what was left out). A PDF without text (scanned pages) is ``no-text``; one that pypdf cannot read,
    or that is encrypted with a password, is ``error``.
    """
    from pypdf import PdfReader  # lazy: only PDF captures need it, not every extraction worker
    from pypdf.errors import PyPdfError  # (the same)

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repairs of sloppy files are not news
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"status": "error", "error": "the PDF is encrypted"}
        total = len(reader.pages)
        parts: list[str] = []
        size = 0
        for number in range(min(total, max_pages)):
            page_text = reader.pages[number].extract_text() or ""
            parts.append(page_text)
            size += len(page_text)
            if max_chars is not None and size >= max_chars:
                break
        meta = reader.metadata
        title = (meta.title if meta else None) or None
        try:
            published = _pdf_date(meta.creation_date) if meta else None
        except (ValueError, TypeError):  # a malformed /CreationDate
            published = None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
            RecursionError) as exc:
        return {"status": "error", "error": f"not a readable PDF ({type(exc).__name__}: {exc})"}
    text = normalize_text("\n\n".join(parts))
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]
    note = None
    if len(parts) < total:
        note = f"text of the first {len(parts)} of {total} pages only"
    return {
        "status": "ok" if text else "no-text",
        "error": note if text else f"no text layer in {total} page(s): the PDF needs OCR",
        "text": text,
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "title": str(title) if title else None,
        "published": published,
        "language": None,
        "extractor": "pypdf",
    }


def extract_archived(warc_dir: str, warc_file: str, offset: int, url: str, max_bytes: int, *,
                     html_max_bytes: int = HTML_MAX_BYTES,
                     html_max_tags: int = HTML_MAX_TAGS) -> dict[str, Any]:
    """Read a response record back from its WARC and extract its main text (worker entry point).

    ``max_bytes`` bounds a decoded payload (and a PDF's text); an HTML page over ``html_max_bytes``
    or ``html_max_tags`` is not parsed at all: ``too-large``, with the reason in ``error``.
    """
    record = read_record_at(Path(warc_dir), warc_file, offset)
    # a resource record (a browser capture's rendered DOM) has no HTTP head: its WARC Content-Type
    content_type = (header_value(record.http_headers, "content-type") if record.http_head
                    else record.headers.get("Content-Type"))
    if not is_extracted(content_type):
        return {"status": "not-html"}
    pdf = is_pdf(content_type)
    limit = max_bytes if pdf else min(max_bytes, html_max_bytes)
    try:
        body = decode_content(record.payload, header_value(record.http_headers, "content-encoding"),
                              limit)
    except DecodedTooLargeError as exc:
        return {"status": "too-large", "error": str(exc)}
    except ContentDecodeError as exc:
        return {"status": "error", "error": str(exc)}
    if pdf:
        return extract_pdf(body, max_chars=max_bytes)
    too_large = html_over_limits(body, html_max_bytes, html_max_tags)
    if too_large:
        return {"status": "too-large", "error": too_large}
    return extract_html(body, url)
