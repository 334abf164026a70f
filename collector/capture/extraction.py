"""Main-text extraction (trafilatura adapter) and text normalization.

Pure functions: bytes in, values out. ``extract_archived`` is what extraction worker processes run: it
reads the payload back from the WARC file (so it extracts exactly what was archived, and the crawl
never holds payloads in memory waiting for a worker).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any

from storage.errors import ContentDecodeError
from storage.retrieve import decode_content, header_value
from storage.warcread import read_record_at

__all__ = [
    "extract_archived",
    "extract_html",
    "is_html",
    "normalize_text",
    "text_sha256",
]

HTML_TYPES = ("text/html", "application/xhtml+xml")
_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n{3,}")


def is_html(content_type: str | None) -> bool:
    """True for HTML and XHTML content types."""
    return bool(content_type and content_type.split(";")[0].strip().lower() in HTML_TYPES)


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


def extract_html(html: bytes, url: str | None = None) -> dict[str, Any]:
    """Main text, title, published date and language of an HTML page (trafilatura)."""
    import trafilatura  # lazy: ~70 MB, loaded by the extraction workers only, not the writer

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, deduplicate=False)
    if doc is None:
        return {"status": "empty", "text": "", "text_sha256": text_sha256(""), "title": None,
                "published": None, "language": None}
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = normalize_text(data.get("text") or "")
    return {
        "status": "ok" if text else "empty",
        "text": text,
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "title": data.get("title"),
        "published": data.get("date"),
        "language": data.get("language"),
    }


def extract_archived(warc_dir: str, warc_file: str, offset: int, url: str,
                     max_bytes: int) -> dict[str, Any]:
    """Read a response record back from its WARC and extract its main text (worker entry point)."""
    record = read_record_at(Path(warc_dir), warc_file, offset)
    if not is_html(header_value(record.http_headers, "content-type")):
        return {"status": "not-html"}
    try:
        body = decode_content(record.payload, header_value(record.http_headers, "content-encoding"),
                              max_bytes)
    except ContentDecodeError as exc:
        return {"status": "error", "error": str(exc)}
    return extract_html(body, url)
