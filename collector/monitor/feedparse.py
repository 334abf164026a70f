"""Reading feed documents: entries out of RSS/Atom bytes, deduplication keys, feed discovery.

Pure functions over bytes and headers (feedparser and lxml do the parsing; nothing here fetches).
feedparser is always given a byte stream, never a string: given a string it would fetch URLs or open
local files by itself.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import html as lxml_html

from collector.monitor.keywords import fold, html_to_text
from storage.canonical import url_key
from storage.feeds import NewEntry

__all__ = ["ParsedEntry", "ParsedFeed", "discover_feeds", "normalize_title", "parse_feed", "run_feedparser"]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/feed+json", "application/json", "application/xml", "text/xml")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[\W_]+")
SUMMARY_CHARS = 4000


def normalize_title(title: str | None) -> str:
    """A title for deduplication: accents, case, punctuation and spacing ignored."""
    return _NON_WORD.sub(" ", fold(title or "")).strip()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ParsedEntry:
    """One entry as read from a feed document (plain text fields)."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    content: str | None
    published: datetime | None

    def to_new(self, seen_on: date) -> NewEntry:
        """The entry with its dedup keys: GUID, canonical link, normalized title within a day."""
        link_key = None
        if self.link:
            try:
                link_key = _key(url_key(self.link))
            except Exception:  # a link surt cannot parse: dedup on the link as written
                link_key = _key(self.link)
        title = normalize_title(self.title)
        day = (self.published.date() if self.published else seen_on).isoformat()
        guid = self.guid
        if not (guid or link_key or title) and (self.summary or self.content):
            guid = "content:" + _key(self.summary or self.content or "")
        return NewEntry(guid=guid, guid_key=_key(guid) if guid else None, link=self.link,
                        link_key=link_key, title=self.title,
                        title_key=_key(f"{title}|{day}") if title else None,
                        summary=(self.summary or "")[:SUMMARY_CHARS] or None, published=self.published)


@dataclass(frozen=True, kw_only=True)
class ParsedFeed:
    """What a feed document yielded: its title, format, entries and any parse warning."""

    title: str | None
    version: str | None  # feedparser's name of the format (rss20, atom10 ...), None when not a feed
    entries: tuple[ParsedEntry, ...]
    warning: str | None

    @property
    def is_feed(self) -> bool:
        """True when the document was recognized as a feed (or at least yielded entries)."""
        return bool(self.version or self.entries)


def _when(entry: Mapping[str, Any]) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _clean(text: str | None) -> str | None:
    value = _SPACES.sub(" ", html_to_text(text or "")).strip()
    return value or None


def _entry(raw: Mapping[str, Any]) -> ParsedEntry:
    content = " ".join(c.get("value", "") for c in raw.get("content") or [] if isinstance(c, Mapping))
    summary = raw.get("summary")
    return ParsedEntry(
        guid=(raw.get("id") or "").strip() or None,
        link=(raw.get("link") or "").strip() or None,
        title=_clean(raw.get("title")),
        summary=_clean(summary),
        content=_clean(content) if content and content != summary else None,
        published=_when(raw),
    )


def _warning(parsed: Mapping[str, Any]) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    name = type(exc).__name__ if exc is not None else "error"
    text = str(exc or "").strip() or name
    return f"{name}: {text}"[:500]


def run_feedparser(body: bytes, headers: Mapping[str, str], url: str) -> Any:
    """feedparser's own result for a document and its response headers (a byte stream, never a URL).

    A relative ``Content-Location`` is resolved against ``url``; without one, ``url`` is the base of
    relative links.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered:
        lowered["content-location"] = urljoin(url, lowered.get("content-location") or url)
    return feedparser.parse(io.BytesIO(body), response_headers=lowered or None)


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse a feed document as received (after content-decoding) with its HTTP response headers.

    ``headers`` may be empty for a document read from a file (then ``url`` is not used).

    Broken feeds (wrong encoding declaration, unescaped ampersands, truncated XML) still yield what
    feedparser could read; the problem is returned as ``warning``.
    """
    try:
        parsed = run_feedparser(body, headers, url)
    except Exception as exc:  # feedparser should not raise; a document that makes it is recorded
        return ParsedFeed(title=None, version=None, entries=(), warning=f"{type(exc).__name__}: {exc}")
    entries = tuple(_entry(e) for e in parsed.get("entries") or [])
    feed = parsed.get("feed") or {}
    version = parsed.get("version") or None
    warning = _warning(parsed)
    if not version and not entries and warning is None:
        warning = "not a feed: no RSS or Atom document found"
    return ParsedFeed(title=_clean(feed.get("title")), version=version, entries=entries,
                      warning=warning)


def discover_feeds(page: bytes, base_url: str) -> list[dict[str, str | None]]:
    """Feeds a page announces with ``<link rel="alternate" type="application/rss+xml" href=...>``.

    Returns ``[{"url", "title", "type"}]`` in page order, URLs made absolute (``<base href>`` honored).
    """
    if not page.strip():
        return []
    try:
        tree = lxml_html.fromstring(page)
    except Exception:  # not HTML at all
        return []
    base = base_url
    for href in tree.xpath("//base/@href"):
        base = urljoin(base_url, str(href).strip())
        break
    found: dict[str, dict[str, str | None]] = {}
    for link in tree.xpath("//link[@href]"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        if kind == "application/json" and "feed" not in (link.get("title") or "").lower():
            continue
        url = urljoin(base, (link.get("href") or "").strip())
        if url.startswith(("http://", "https://")) and url not in found:
            found[url] = {"url": url, "title": (link.get("title") or "").strip() or None, "type": kind}
    return list(found.values())
