"""Bytes to text for text-like reports: BOMs, declared charsets, UTF-8, then Windows-1252; binary refused."""

from __future__ import annotations

import codecs
import re

from collector.citations.errors import ReportParseError

__all__ = ["declared_charset", "decode_text"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# C0 controls other than tab, newline, form feed and carriage return, plus DEL and C1 controls
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\x80-\x9f]")


def declared_charset(data: bytes, content_type: str | None) -> str | None:
    """The charset named by the content type, else by an HTML ``<meta>`` in the first 4 KiB."""
    if content_type:
        found = _CHARSET_PARAM.search(content_type)
        if found:
            return found.group(1)
    meta = _META_CHARSET.search(data[:4096])
    return meta.group(1).decode("ascii", "replace") if meta else None


def decode_text(data: bytes, *, name: str, charset: str | None = None) -> str:
    """Decode a text report; line ends become ``\\n``. ``ReportParseError`` for binary data.

    Order: byte-order mark, the declared ``charset``, UTF-8, Windows-1252 (Latin-1 for its five holes).
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, "replace")
            break
    if text is None and charset:
        try:
            text = data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = _CONTROL.search(text)
    if bad is not None:
        if "\x00" in text or len(_CONTROL.findall(text)) * 200 > len(text):
            line = text.count("\n", 0, bad.start()) + 1
            raise ReportParseError(
                f"{name}, line {line}: binary data (control character U+{ord(bad.group()):04X}), "
                "not a text report"
            )
        text = _CONTROL.sub(" ", text)  # a few stray control characters in real text
    if not text.strip():
        raise ReportParseError(f"{name}: empty file (no text)")
    return text.lstrip("\ufeff")
