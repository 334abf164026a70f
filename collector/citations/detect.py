"""Which reader a report needs: from the file name, then the content type, then the bytes themselves."""

from __future__ import annotations

import re

from collector.citations.errors import ReportParseError

__all__ = ["FORMATS", "detect_format"]

FORMATS = ("text", "markdown", "html", "pdf")

_BY_SUFFIX = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".pdf": "pdf",
}
_BY_TYPE = {
    "text/plain": "text",
    "text/markdown": "markdown", "text/x-markdown": "markdown",
    "text/html": "html", "application/xhtml+xml": "html",
    "application/pdf": "pdf", "application/x-pdf": "pdf",
}
# magic numbers of files that are certainly not reports
_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or a Word/OpenDocument file)"), (b"\x1f\x8b", "gzip data"),
    (b"\xd0\xcf\x11\xe0", "an old Word/Office file"), (b"\x7fELF", "a program"),
)
_HTML_SNIFF = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_MD_SNIFF = re.compile(
    r"^#{1,6}\s+\S|\]\((?:https?://|/|#)|^\[\^[^\]\s]+\]:|^\[[^\]]+\]:\s*https?://|^```", re.M
)


def _suffix(filename: str | None) -> str:
    if not filename:
        return ""
    base = filename.rsplit("/", 1)[-1].split("?", 1)[0].lower()
    return base[base.rfind("."):] if "." in base else ""


def detect_format(data: bytes, *, name: str, filename: str | None = None,
                  content_type: str | None = None) -> str:
    """``"text"``, ``"markdown"``, ``"html"`` or ``"pdf"``; ``ReportParseError`` for known binary formats.

    A PDF is recognised by its ``%PDF-`` header wherever it comes from; otherwise the file name's
    suffix wins over the content type, and the bytes are sniffed when neither says.
    """
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise ReportParseError(f"{name}: looks like {what}, not a text, Markdown, HTML or PDF report")
    declared = _BY_SUFFIX.get(_suffix(filename))
    if declared is None and content_type:
        declared = _BY_TYPE.get(content_type.split(";")[0].strip().lower())
    if declared == "pdf":
        raise ReportParseError(f"{name}: not a PDF file (no %PDF- header)")
    if declared is not None:
        return declared
    if _HTML_SNIFF.search(data[:4096]):
        return "html"
    if _MD_SNIFF.search(data[:65536].decode("utf-8", "replace")):
        return "markdown"
    return "text"
