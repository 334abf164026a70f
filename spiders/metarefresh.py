"""Meta-refresh redirects found in the head of a page, without decoding the whole page.

Scrapy's MetaRefreshMiddleware looks for ``<meta http-equiv="refresh">`` in the first 4,096
characters of ``response.text``, but getting ``response.text`` decodes the whole body (and keeps the
decoded copy with the response): for an 85 KB page, 85-340 KB of text per response in flight, made
only to read its start. This subclass gives it a copy of the response cut to the first
``HEAD_BYTES`` bytes (4,096 characters need at most 16 KiB in any encoding), and returns the original
response whenever no redirect follows.

A refresh to anything but an http or https URL (``javascript:``, ``mailto:``, ``tel:``) is ignored:
the page is the capture. (Scrapy's middleware would build a request of it first, and a URL without
``//`` makes that raise ValueError, which turned the page into a failed attempt.)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh

__all__ = ["HEAD_BYTES", "HeadMetaRefreshMiddleware"]

HEAD_BYTES = 16 * 1024


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """MetaRefreshMiddleware reading only the head of each HTML page."""

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        """Follow a meta refresh found in the first HEAD_BYTES bytes, as Scrapy's middleware does."""
        if not isinstance(response, HtmlResponse):
            return super().process_response(request, response)
        head = (response if len(response.body) <= HEAD_BYTES
                else response.replace(body=response.body[:HEAD_BYTES]))
        # parsed once: get_meta_refresh keeps its answer per response, for the call in super()
        _, url = get_meta_refresh(head, ignore_tags=self._ignore_tags)
        if url and urlsplit(url).scheme.lower() not in ("http", "https"):
            return response  # javascript:, mailto: ...: nothing to follow
        result = super().process_response(request, head)
        return response if result is head else result
