"""Bad input: a clear ReportParseError naming the file (and the line, where one is relevant)."""

from __future__ import annotations

import random

import pytest

from collector.citations import ReportParseError, parse_report
from collector.errors import CollectorError, InputError


@pytest.mark.parametrize("data", [b"", b"   \n\t\n"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(ReportParseError, match=r"^notes\.md: empty file"):
        parse_report(data, filename="notes.md")


def test_binary_junk_names_file_and_line() -> None:
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(4096))
    with pytest.raises(ReportParseError, match=r"^junk\.txt, line \d+: binary data") as caught:
        parse_report(b"A first line of text.\n" + junk, filename="junk.txt")
    assert "line 1:" not in str(caught.value)


def test_nul_bytes_in_markdown() -> None:
    with pytest.raises(ReportParseError, match=r"^r\.md, line 2: binary data"):
        parse_report(b"# Title\nbad \x00 byte\n", filename="r.md")


def test_known_binary_formats() -> None:
    with pytest.raises(ReportParseError, match=r"^photo\.txt: looks like a PNG image"):
        parse_report(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="photo.txt")
    with pytest.raises(ReportParseError, match=r"^report\.docx: looks like a ZIP archive"):
        parse_report(b"PK\x03\x04" + b"\x00" * 64, filename="report.docx")


def test_pdf_name_without_pdf_content() -> None:
    with pytest.raises(ReportParseError, match=r"^report\.pdf: not a PDF file"):
        parse_report(b"just some words", filename="report.pdf")


def test_unnamed_input_and_error_tree() -> None:
    with pytest.raises(ReportParseError, match=r"^<report>: empty file") as caught:
        parse_report(b"")
    assert isinstance(caught.value, InputError)
    assert isinstance(caught.value, CollectorError)
    assert isinstance(caught.value, ValueError)


def test_html_without_text() -> None:
    with pytest.raises(ReportParseError, match=r"^blank\.html: no text"):
        parse_report(b"<html><head><title>x</title></head><body><script>1</script></body></html>",
                     filename="blank.html")
