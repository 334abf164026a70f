"""Build Observations the way the capture pipeline would: raw bytes hashed, main text normalized."""

from __future__ import annotations

import hashlib
import html

from collector.capture.extraction import normalize_text, text_sha256
from collector.check.verdict import Observation


def html_page(url: str, text: str, *, title: str | None = None, chrome: str = "", charset: str = "utf-8",
              status: int = 200, final_url: str | None = None,
              chain: tuple[tuple[str, int], ...] = ()) -> Observation:
    """A captured HTML page whose payload is ``text`` wrapped in ``chrome`` and encoded in ``charset``."""
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in text.split("\n"))
    raw = (f'<html><head><meta charset="{charset}"><title>{html.escape(title or "")}</title></head>'
           f"<body><nav>{chrome}</nav><article>{body}</article></body></html>").encode(charset)
    normalized = normalize_text(text)
    return Observation(
        outcome="captured", http_status=status, url=url, final_url=final_url or url, redirect_chain=chain,
        content_type=f"text/html; charset={charset}", sha256=hashlib.sha256(raw).hexdigest(),
        text=normalized, text_sha256=text_sha256(normalized), title=title,
    )


def binary(url: str, payload: bytes, content_type: str, *, status: int = 200) -> Observation:
    """A captured non-HTML response (PDF, image): no main text, only the payload digest."""
    return Observation(outcome="captured", http_status=status, url=url, final_url=url,
                       content_type=content_type, sha256=hashlib.sha256(payload).hexdigest())


def failed(url: str, reason: str, *, status: int | None = None) -> Observation:
    """A fetch attempt that got no usable response."""
    return Observation(outcome="failed", reason=reason, http_status=status, url=url)


def error_status(url: str, status: int, text: str = "", title: str | None = None) -> Observation:
    """A response with an error status and its (short) error page."""
    return html_page(url, text or f"Error {status}", title=title or f"Error {status}", status=status)
