"""Choosing the reader: file name, then content type, then the content itself."""

from __future__ import annotations

import pytest

from collector.citations.detect import detect_format


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "expected"),
    [
        (b"%PDF-1.7\n...", None, None, "pdf"),
        (b"%PDF-1.7\n...", "report.txt", "text/plain", "pdf"),
        (b"<p>x</p>", "report.md", "text/html", "markdown"),
        (b"plain words", None, "text/html; charset=utf-8", "html"),
        (b"plain words", None, "text/markdown", "markdown"),
        (b"plain words", "notes.TXT", None, "text"),
        (b"<!DOCTYPE html><html><body>x</body></html>", None, None, "html"),
        (b"# Title\n\nA [link](https://example.org).", None, "application/octet-stream", "markdown"),
        (b"Text[^1].\n\n[^1]: A note.", None, None, "markdown"),
        (b"Text [1].\n[1] A note.", None, None, "text"),
        (b"Text.", "https://example.org/report.html?x=1", None, "html"),
    ],
)
def test_detect_format(data: bytes, filename: str | None, content_type: str | None, expected: str) -> None:
    assert detect_format(data, name="r", filename=filename, content_type=content_type) == expected
