"""Citation parsing: read a report (text, Markdown, HTML, PDF) and find everything it cites.

Pure functions: bytes in, a ``ParsedReport`` out; no database, no network. ``parse_report`` picks the
reader by file name, content type or content, the reader turns the report into text, links and notes
entries (``document.Extracted``), and ``assemble.build_report`` merges entries, body markers and
outbound links into one ``Citation`` per reference.
"""

from __future__ import annotations

from collector.citations.assemble import build_report
from collector.citations.detect import detect_format
from collector.citations.document import Extracted
from collector.citations.errors import ReportParseError
from collector.citations.htmlreport import read_html
from collector.citations.model import Citation, ParsedReport
from collector.citations.textreport import read_text

__all__ = ["Citation", "ParsedReport", "ReportParseError", "parse_report"]


def parse_report(data: bytes, *, filename: str | None = None, content_type: str | None = None,
                 base_url: str | None = None) -> ParsedReport:
    """Parse a report's bytes into its citations.

    ``filename`` and ``content_type`` help choose the format and name the file in error messages;
    ``base_url`` resolves relative links of an HTML report and tells its own site's links apart.
    Raises ``ReportParseError`` for empty or unreadable input and for a PDF without a text layer.
    """
    name = filename or "<report>"
    if not data.strip():
        raise ReportParseError(f"{name}: empty file")
    fmt = detect_format(data, name=name, filename=filename, content_type=content_type)
    extracted: Extracted
    if fmt == "pdf":
        from collector.citations.pdfreport import read_pdf  # lazy: pypdf costs ~0.1 s at start

        extracted = read_pdf(data, name=name)
    elif fmt == "html":
        extracted = read_html(data, name=name, content_type=content_type, base_url=base_url)
    elif fmt == "markdown":
        from collector.citations.markdownreport import read_markdown  # lazy: markdown-it ~60 ms

        extracted = read_markdown(data, name=name, content_type=content_type)
    else:
        extracted = read_text(data, name=name, content_type=content_type)
    return build_report(extracted)
