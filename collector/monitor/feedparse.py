"""Reading feed documents: entries out of RSS/Atom/JSON Feed bytes, deduplication keys, feed discovery.

Pure functions over bytes and headers (feedparser, json and lxml do the parsing; nothing here fetches).
feedparser is always given a byte stream, never a string: given a string it would fetch URLs or open
local files by itself.

What a document can cost is bounded here: only its first ``max_bytes`` are read (an XML feed is read
up to there, a JSON Feed beyond it is refused as ``too-large``) and only its first ``max_entries``
entries are kept (the rest are counted in the warning). The memory and time one parse may take are
bounded by running it in a worker process (``collector.monitor.feedworker``).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import html as lxml_html

from collector.monitor.keywords import fold, html_to_text

if TYPE_CHECKING:
    from storage.feeds import NewEntry

__all__ = ["ParsedEntry", "ParsedFeed", "discover_feeds", "feed_base", "normalize_title", "parse_feed",
           "parse_json_feed", "run_feedparser"]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/feed+json", "application/json", "application/xml", "text/xml")
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
_SPACES = re.compile(r"\s+")
_SCRIPT_TAGS = re.compile(r"<(/?)(script|style)\b", re.IGNORECASE)
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
        # lazy: the parser worker process (collector.monitor.feedworker) never needs SQLAlchemy or surt
        from storage.canonical import url_key
        from storage.feeds import NewEntry

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
    """What a feed document yielded: its title, format, entries and any parse warning.

    ``error`` is set when the document could not be read at all (``too-large: ...``,
    ``parse-error: ...``): the poll failed for that reason.
    """

    title: str | None
    version: str | None  # feedparser's name of the format (rss20, atom10, json11 ...), None: not a feed
    entries: tuple[ParsedEntry, ...]
    warning: str | None
    error: str | None = None

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


def _without_scripts(fragment: str) -> str:
    """An HTML fragment without its ``<script>`` and ``<style>`` elements (an unclosed one runs to the
    end), in one linear pass over their tags."""
    kept: list[str] = []
    pos = 0
    inside: str | None = None
    for tag in _SCRIPT_TAGS.finditer(fragment):
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if inside is None and not closing:
            kept.append(fragment[pos:tag.start()])
            inside = name
        elif inside == name and closing:
            inside, pos = None, fragment.find(">", tag.end()) + 1 or len(fragment)
    if inside is None:
        kept.append(fragment[pos:])
    return " ".join(kept)


def _html_text(fragment: str | None) -> str | None:
    """The text of an entry's HTML summary or content, without its scripts and styles.

    feedparser's own sanitizer is not used: it re-parses each entry's HTML with a slow pure-Python
    parser (100 entries of 1,000 unclosed tags took it 8 s, 0.2 s without it), and only the text is
    kept anyway. Tags are removed by one regular expression (no tree: no depth limit, no blow-up).
    """
    if not fragment or "<" not in fragment:
        return _clean(fragment)
    return _clean(_without_scripts(fragment))


def _absolute(link: Any, base: str | None) -> str | None:
    """An entry link made absolute against the document's base (when there is one)."""
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    if base and not urlsplit(link).scheme:
        try:
            return urljoin(base, link)
        except ValueError:  # an unparsable link is kept as written
            return link
    return link


def _entry(raw: Mapping[str, Any], base: str | None) -> ParsedEntry:
    content = " ".join(c.get("value", "") for c in raw.get("content") or [] if isinstance(c, Mapping))
    summary = raw.get("summary")
    return ParsedEntry(
        guid=(raw.get("id") or "").strip() or None,
        link=_absolute(raw.get("link"), base),
        title=_clean(raw.get("title")),
        summary=_html_text(summary),
        content=_html_text(content) if content and content != summary else None,
        published=_when(raw),
    )


def _warning(parsed: Mapping[str, Any]) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    name = type(exc).__name__ if exc is not None else "error"
    text = str(exc or "").strip() or name
    return f"{name}: {text}"[:500]


def _web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def feed_base(headers: Mapping[str, str], url: str) -> str:
    """The base URL of a fetched document's relative links: its ``Content-Location`` made absolute
    against ``url`` when that is an http(s) URL, else ``url`` (a ``javascript:``, ``data:`` or
    unparsable Content-Location is ignored, as feedparser does when it fetches by itself)."""
    location = next((v for k, v in headers.items() if k.lower() == "content-location"), "") or ""
    location = location.strip()
    if location:
        try:
            candidate = urljoin(url, location)
        except ValueError:
            return url
        if _web_url(candidate):
            return candidate
    return url


def run_feedparser(body: bytes, headers: Mapping[str, str], url: str, *, sanitize: bool = True) -> Any:
    """feedparser's own result for a document and its response headers (a byte stream, never a URL).

    The base of relative links (also of a relative ``xml:base``) is ``feed_base(headers, url)``.
    ``sanitize=False`` skips feedparser's HTML sanitizing and link rewriting inside entries' content
    (``parse_feed`` keeps only their text).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered:
        lowered["content-location"] = feed_base(lowered, url)
    return feedparser.parse(io.BytesIO(body), response_headers=lowered or None,
                            sanitize_html=sanitize, resolve_relative_uris=sanitize)


def _json_document(body: bytes) -> bool:
    """True when the document is to be read as JSON: it opens with ``{`` (after a BOM or spaces),
    whatever its Content-Type says (a JSON Feed is sent as application/feed+json, application/json,
    text/plain...; an XML feed mislabelled as JSON still goes to feedparser)."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _too_many(total: int, max_entries: int | None) -> str | None:
    """The warning about the entries beyond the cap (None: none dropped)."""
    if max_entries is None or total <= max_entries:
        return None
    return (f"too-many-entries: {total - max_entries:,} entries beyond the first {max_entries:,} "
            "were not read")


def _join(*warnings: str | None) -> str | None:
    return "; ".join(w for w in warnings if w) or None


def parse_feed(body: bytes, headers: Mapping[str, str], url: str, *, max_bytes: int | None = None,
               max_entries: int | None = None) -> ParsedFeed:
    """Parse a feed document as received (after content-decoding) with its HTTP response headers.

    RSS, Atom and RDF go through feedparser; JSON Feed 1.0/1.1 (``application/feed+json``, or JSON
    whose ``version`` is a ``https://jsonfeed.org/version/`` URL) is read here, into the same entries.
    ``headers`` may be empty for a document read from a file (then ``url`` is not used).

    Broken feeds (wrong encoding declaration, unescaped ampersands, truncated XML) still yield what
    feedparser could read; the problem is returned as ``warning``. Only the first ``max_bytes`` of an
    XML document are read (``too-large`` warning); a JSON document longer than that is not read at all
    (``too-large`` error). Entries beyond ``max_entries`` are dropped and counted in the warning.
    """
    too_large = None
    if max_bytes is not None and len(body) > max_bytes:
        too_large = (f"too-large: the document is {len(body):,} bytes, only the first {max_bytes:,} "
                     "were read")
    if _json_document(body):
        if too_large:
            return ParsedFeed(title=None, version=None, entries=(), warning=None,
                              error=f"too-large: the JSON document is {len(body):,} bytes (limit "
                                    f"{max_bytes:,})")
        return parse_json_feed(body, headers, url, max_entries=max_entries)
    if too_large:
        body = body[:max_bytes]
    try:
        parsed = run_feedparser(body, headers, url, sanitize=False)
    except Exception as exc:  # feedparser should not raise; a document that makes it is recorded
        return ParsedFeed(title=None, version=None, entries=(), warning=None,
                          error=f"parse-error: {type(exc).__name__}: {exc}"[:500])
    base = feed_base(headers, url) if headers else None
    raw = parsed.get("entries") or []
    entries = tuple(_entry(e, base) for e in raw[:max_entries])
    warning = _join(_warning(parsed), _too_many(len(raw), max_entries))
    feed = parsed.get("feed") or {}
    version = parsed.get("version") or None
    if not version and not entries and warning is None:
        warning = "not a feed: no RSS, Atom or JSON Feed document found"
    return ParsedFeed(title=_clean(feed.get("title")), version=version, entries=entries,
                      warning=_join(too_large, warning))


# -- JSON Feed (https://www.jsonfeed.org/version/1.1/) --------------------------------------------------
def _json_version(version: str) -> str:
    number = version[len(JSON_FEED_PREFIX):].strip("/")
    return {"1": "json1", "1.0": "json1", "1.1": "json11"}.get(number, "json")


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _json_entry(item: Mapping[str, Any], base: str | None) -> ParsedEntry:
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int | float) and not isinstance(
        raw_id, bool) else ""
    content = _html_text(_text(item.get("content_html"))) or _clean(_text(item.get("content_text")))
    summary = _clean(_text(item.get("summary"))) or content
    return ParsedEntry(
        guid=guid or None,
        link=_absolute(_text(item.get("url")) or _text(item.get("external_url")), base),
        title=_clean(_text(item.get("title"))),
        summary=summary,
        content=content if content != summary else None,
        published=_json_date(item.get("date_published")) or _json_date(item.get("date_modified")),
    )


def parse_json_feed(body: bytes, headers: Mapping[str, str], url: str, *,
                    max_entries: int | None = None) -> ParsedFeed:
    """Parse a JSON Feed 1.0/1.1 document into the same entries as an RSS or Atom feed.

    ``id`` is the GUID, ``url`` (else ``external_url``) the link, ``summary`` (else the content) the
    summary, ``content_html`` or ``content_text`` the content, ``date_published`` (else
    ``date_modified``) the date. JSON that is not a JSON Feed is ``not a feed``.
    """
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return ParsedFeed(title=None, version=None, entries=(), warning=None,
                          error=f"not a feed: invalid JSON ({type(exc).__name__}: {exc})"[:500])
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith(JSON_FEED_PREFIX):
        return ParsedFeed(title=None, version=None, entries=(), warning=None,
                          error="not a feed: JSON without a https://jsonfeed.org/version/ version")
    assert isinstance(data, dict)
    base = feed_base(headers, url) if headers else None
    items = data.get("items")
    warning = None if isinstance(items, list) else "JSON Feed without an items list"
    raw = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    if isinstance(items, list) and len(raw) < len(items):
        warning = f"{len(items) - len(raw)} items are not JSON objects (skipped)"
    entries = tuple(_json_entry(i, base) for i in raw[:max_entries])
    warning = _join(warning, _too_many(len(raw), max_entries))
    return ParsedFeed(title=_clean(_text(data.get("title"))), version=_json_version(version),
                      entries=entries, warning=warning)


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
