"""The feed spider: the capture spider with conditional GET for feed polling.

Each target may carry validators from the previous poll in ``target["context"]["validators"]``
(``{"etag": ..., "last_modified": ...}``); they are sent as ``If-None-Match`` and
``If-Modified-Since``. A ``304 Not Modified`` answer is an ordinary captured attempt (status 304, empty
body), so the poll itself is on record. Nothing here knows the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import scrapy

from spiders.capture import CaptureSpider

__all__ = ["FEED_ACCEPT", "FeedSpider", "conditional_headers"]

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, application/feed+json;q=0.8, */*;q=0.5")


def conditional_headers(validators: Mapping[str, Any] | None) -> dict[str, str]:
    """Request headers for a conditional GET from the previous response's ETag and Last-Modified."""
    headers: dict[str, str] = {}
    if not validators:
        return headers
    etag = validators.get("etag")
    modified = validators.get("last_modified")
    if isinstance(etag, str) and etag.strip():
        headers["If-None-Match"] = etag.strip()
    if isinstance(modified, str) and modified.strip():
        headers["If-Modified-Since"] = modified.strip()
    return headers


class FeedSpider(CaptureSpider):
    """Fetch each feed once, conditionally when validators are known; one item per attempt."""

    name = "feed"

    @property
    def browser_setting(self) -> str:
        """Feed documents are data, never pages for the browser (their articles may be)."""
        return "never"

    def request_for(self, target: dict[str, Any]) -> scrapy.Request:
        """The capture request of one feed, with ``Accept`` and the conditional-GET headers."""
        request = super().request_for(target)
        context = target.get("context") or {}
        request.headers.setdefault("Accept", FEED_ACCEPT)
        for name, value in conditional_headers(context.get("validators")).items():
            request.headers[name] = value
        return request
