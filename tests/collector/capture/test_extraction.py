"""Text normalization and the trafilatura adapter."""

from __future__ import annotations

import pytest

from collector.capture.extraction import (
    extract_html,
    extract_pdf,
    html_over_limits,
    normalize_text,
    text_sha256,
)
from collector.capture.run import check_url
from collector.errors import InputError
from collector.inputs import parse_time


def test_normalize_text_folds_spacing_and_composition() -> None:
    composed = "Per\u00fa  says:\r\n\r\n\r\n  \u201chello\u201d\t world "
    decomposed = "Peru\u0301 says:\n\n \u201chello\u201d world"
    assert normalize_text(composed) == normalize_text(decomposed) == "Perú says:\n\n“hello” world"


def test_extract_html_gives_title_text_and_hash() -> None:
    html = (b"<html><head><title>T</title></head><body><nav>menu</nav><article><h1>Headline</h1>"
            b"<p>" + b"A sentence with enough words to be main text. " * 10 + b"</p></article>"
            b"</body></html>")
    result = extract_html(html, "https://example.org/a")
    assert result["status"] == "ok"
    assert "A sentence with enough words" in result["text"]
    assert "menu" not in result["text"]
    assert len(result["text_sha256"]) == 64


@pytest.mark.parametrize("given", ["file:///etc/passwd", "javascript:alert(1)", "ftp://x.org/",
                                   "http://", "http://exa mple.org", "data:text/html,hi", ""])
def test_check_url_rejects(given: str) -> None:
    with pytest.raises(InputError):
        check_url(given)


def test_check_url_accepts_and_adds_scheme() -> None:
    assert check_url("example.org/a") == "https://example.org/a"
    assert check_url("localhost:8080/x") == "https://localhost:8080/x"
    assert check_url(" http://example.org/ ") == "http://example.org/"


def test_parse_time_forms() -> None:
    assert parse_time("2025-06-03").isoformat() == "2025-06-03T00:00:00+00:00"
    assert parse_time("20250603101112").isoformat() == "2025-06-03T10:11:12+00:00"
    assert parse_time("2025-06-03T12:00:00+02:00").isoformat() == "2025-06-03T10:00:00+00:00"
    with pytest.raises(InputError):
        parse_time("last tuesday")


def _pdf(*pages: str, title: str | None = None) -> bytes:
    """A PDF written with fpdf2: one page per text (an empty text: a page with only a drawing, as a
    scanned page has no text layer)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
        else:
            pdf.rect(20, 20, 120, 160, style="F")
    return bytes(pdf.output())


SENTENCE = "The harbour ledger lists every boat that leaves the estuary after dark."


def test_extract_pdf_gives_the_text_layer_title_and_hash() -> None:
    result = extract_pdf(_pdf(SENTENCE, "A second page about the pilots.", title="Harbour Ledger"))
    assert result["status"] == "ok" and result["extractor"] == "pypdf"
    assert SENTENCE in result["text"] and "second page about the pilots" in result["text"]
    assert result["text_sha256"] == text_sha256(result["text"])
    assert result["title"] == "Harbour Ledger"
    assert result["error"] is None


def test_extract_pdf_is_bounded_by_pages_and_characters() -> None:
    data = _pdf("Page one words.", "Page two words.", "Page three words.")
    result = extract_pdf(data, max_pages=2)
    assert "Page two" in result["text"] and "Page three" not in result["text"]
    assert result["status"] == "ok" and "first 2 of 3 pages" in result["error"]
    assert len(extract_pdf(data, max_chars=8)["text"]) == 8


def test_a_pdf_without_text_layer_is_no_text_and_garbage_is_an_error() -> None:
    scanned = extract_pdf(_pdf("", ""))
    assert scanned["status"] == "no-text" and scanned["text"] == ""
    assert "OCR" in scanned["error"]
    broken = extract_pdf(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    assert broken["status"] == "error" and "not a readable PDF" in broken["error"]


def test_html_over_its_byte_or_tag_cap_is_named_not_parsed() -> None:
    page = b"<html><body>" + b"<p>a</p>" * 1000 + b"</body></html>"
    assert html_over_limits(page, max_bytes=len(page), max_tags=2004) is None
    assert "bytes" in (html_over_limits(page, max_bytes=len(page) - 1, max_tags=10**6) or "")
    assert "2004 tags" in (html_over_limits(page, max_bytes=10**6, max_tags=2003) or "")
