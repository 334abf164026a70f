"""Fetching feed documents: the feed spider run like ``capture_urls`` runs the capture spider.

Same child-process model (a fresh spawned process per call, so Twisted's reactor starts once per
process and nothing leaks into a long-lived daemon), same Scrapy settings, same archive writer: every
poll is a capture row with its WARC records, a ``304`` included. Feed documents are not HTML, so no
extraction pool is started (it would cost more than the crawl).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from collector.capture.run import Target, run_crawl
from collector.config import Config

__all__ = ["fetch_feeds"]

FEED_SPIDER = "spiders.feed.FeedSpider"


def fetch_feeds(config: Config, targets: Sequence[Target], *,
                on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, dict[str, Any]]:
    """Fetch every feed URL once (conditionally); return each URL's capture result by URL.

    Each result is also passed to ``on_result`` as soon as the document is archived (the crawl goes
    on meanwhile), so that a feed can be read while the others are still being fetched. A URL the
    crawl ended without answering gets a ``failed`` result with reason ``not-attempted``.
    """
    if not targets:
        return {}
    results = run_crawl(config, list(targets), spider=FEED_SPIDER, extract=False, on_result=on_result)
    return {result["url"]: result for result in results}
