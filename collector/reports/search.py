"""Full-text search scoped to what a report cites or a feed announced (``collector search``, ``/search``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collector.reports.versions import effective_citations
from storage import search as fts
from storage.canonical import url_key
from storage.feeds import feed_url_keys

__all__ = ["scoped_search"]


def scoped_search(archive: Any, query: str, *, site: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, report: str | None = None, feed: str | None = None,
                  limit: int = 20, offset: int = 0, count: bool = False) -> fts.SearchResults:
    """``storage.search.search`` over ``archive`` (anything with ``sessions``), limited to the URLs that
    report ``report`` cites and/or the articles feed ``feed`` announced (both: the URLs in both);
    ``count``: with the number of every match (``total``).

    Raises NoReportError or NotFoundError for an unknown report or feed, SearchQueryError for a query
    without words.
    """
    keys = None
    if report:
        keys = [url_key(u) for cite in effective_citations(archive, report) for u in cite.urls]
    if feed:
        feed_keys = feed_url_keys(archive.sessions, feed)
        announced = set(feed_keys)
        keys = feed_keys if keys is None else [k for k in keys if k in announced]
    return fts.search(archive.sessions, query, site=site, since=since, until=until, url_keys=keys,
                      limit=limit, offset=offset, count=count)
