"""Text normalization and the trafilatura adapter."""

from __future__ import annotations

import pytest

from collector.capture.extraction import extract_html, normalize_text
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
