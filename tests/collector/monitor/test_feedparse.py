"""Reading feeds: feedparser's conformance corpus through our call path, broken feeds, dedup keys,
feed discovery."""

from __future__ import annotations

import datetime as dt
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from collector.monitor.feedparse import (
    ParsedEntry,
    discover_feeds,
    feed_base,
    normalize_title,
    parse_feed,
    run_feedparser,
)

CORPUS = Path("/work/shared/corpora/feedparser-tests")
UPSTREAM = "http://127.0.0.1:8097/tests/"
# Expectations this path cannot meet, and why: the keys feedparser sets only when it fetches by itself
# (we fetch through Scrapy); behaviour of this feedparser/chardet version that differs from the
# corpus' commit; a relative Content-Location resolved against the feed URL (upstream: the server).
KNOWN = {
    "wellformed/http/headers_etag.xml": "etag key: set only when feedparser fetches",
    "wellformed/http/headers_last_modified-modified.xml": "modified key: feedparser fetch only",
    "wellformed/http/headers_last_modified-modified_parsed.xml": "modified key: feedparser fetch only",
    "wellformed/http/headers_content_location-relative.xml": "upstream resolves against its server",
    "wellformed/atom/entry_link_no_href_link_priority.xml": "feedparser 6.0 link priority",
    "wellformed/atom/entry_link_rel_enclosure_no_href.xml": "feedparser 6.0 enclosure without href",
    "wellformed/atom10/entry_link_no_href_link_priority.xml": "feedparser 6.0 link priority",
    "wellformed/atom10/entry_link_rel_enclosure_no_href.xml": "feedparser 6.0 enclosure without href",
    "json/example.json": "JSON Feed needs feedparser 6.1 (parse_feed reads it: see below)",
    "encoding/bozo_linenoise.xml": "chardet version",
    **{f"wellformed/itunes/itunes_{scope}_explicit_{v}.xml": "feedparser 6.0 itunes_explicit"
       for scope in ("channel", "item") for v in ("false", "no", "true")},
    **{f"illformed/chardet/{n}.xml": "chardet 7 names or detects this legacy encoding differently"
       for n in ("euckr", "gb2312", "shiftjis", "tis620", "windows1255", "big5", "eucjp", "koi8r")},
}


def _cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines()]


def _headers(case: dict[str, Any]) -> dict[str, str]:
    if "http" not in case["path"]:  # read as a file upstream: no HTTP headers
        return {}
    headers = {k.lower(): v for k, v in (case.get("http_headers") or {}).items()}
    headers.setdefault("content-type", "text/xml")
    return headers


@pytest.mark.skipif(not CORPUS.is_dir(), reason="feedparser corpus not available")
def test_corpus_expectations_hold_through_our_call_path() -> None:
    failed: list[str] = []
    ran = 0
    for case in _cases():
        if case.get("skip_unless"):
            try:
                eval(case["skip_unless"])
            except Exception:
                continue
        body = (CORPUS / case["path"]).read_bytes()
        result = run_feedparser(body, _headers(case), UPSTREAM + case["path"])
        try:
            ok = eval(case["expect"], {"datetime": dt, "feedparser": feedparser}, dict(result))
        except Exception:
            ok = False
        ran += 1
        if not ok:
            failed.append(case["path"])
    assert ran > 2000
    assert set(failed) <= set(KNOWN), sorted(set(failed) - set(KNOWN))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="feedparser corpus not available")
def test_every_corpus_document_parses_and_broken_ones_warn() -> None:
    for case in _cases():
        if case["suite"] == "json":  # feedparser 6.0 does not read JSON Feed; parse_feed does
            continue
        body = (CORPUS / case["path"]).read_bytes()
        parsed = parse_feed(body, _headers(case), UPSTREAM + case["path"])
        raw = run_feedparser(body, _headers(case), UPSTREAM + case["path"])
        assert (parsed.warning is not None) == bool(raw.get("bozo")) or not raw.get("version"), case
        assert len(parsed.entries) == len(raw.get("entries") or [])


RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>
<item><title>Caf\xc3\xa9 &amp; bar</title><link>http://ex.org/a?utm_source=x</link><guid>g1</guid>
<description>&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Tue, 01 Jun 2027 10:00:00 GMT</pubDate></item>
<item><title>Second</title><link>/relative</link></item></channel></rss>"""
HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def test_parse_entries() -> None:
    parsed = parse_feed(RSS, HEADERS, "http://ex.org/feed.xml")
    assert parsed.version == "rss20" and parsed.title == "T" and parsed.warning is None
    first, second = parsed.entries
    assert first.title == "Café & bar" and first.summary == "Hello world"
    assert first.guid == "http://ex.org/g1"  # an RSS guid is a permalink unless it says otherwise
    assert first.published == datetime(2027, 6, 1, 10, tzinfo=UTC)
    assert second.link == "http://ex.org/relative" and second.guid is None


@pytest.mark.parametrize("broken", [
    RSS.replace(b"&amp;", b"&"),  # unescaped ampersand
    RSS[: RSS.index(b"<item><title>Second")],  # truncated
    RSS.replace("Caf\xc3\xa9".encode("latin-1"), "Café".encode("latin-1")),  # says UTF-8, is Latin-1
])
def test_broken_feeds_yield_entries_and_a_warning(broken: bytes) -> None:
    parsed = parse_feed(broken, HEADERS, "http://ex.org/feed.xml")
    assert parsed.warning
    assert parsed.entries and parsed.entries[0].title and parsed.entries[0].title.startswith("Caf")


def test_not_a_feed() -> None:
    parsed = parse_feed(b"<html><body>hello</body></html>", {"Content-Type": "text/html"}, "http://x/")
    assert not parsed.is_feed and parsed.warning


def test_dedup_keys() -> None:
    def entry(**kw: Any) -> ParsedEntry:
        base = {"guid": None, "link": None, "title": None, "summary": None, "content": None,
                "published": None}
        return ParsedEntry(**{**base, **kw})

    day = date(2027, 6, 1)
    a = entry(link="https://www.ex.org/a/?utm_source=feed#top", title="Élections: résultats!")
    b = entry(link="http://ex.org/a", title="elections resultats")
    assert a.to_new(day).link_key == b.to_new(day).link_key
    assert a.to_new(day).title_key == b.to_new(day).title_key
    assert a.to_new(day).title_key != b.to_new(date(2027, 6, 2)).title_key
    assert entry(guid="x").to_new(day).guid_key == entry(guid="x", title="other").to_new(day).guid_key
    content_only = entry(summary="only a summary").to_new(day)
    assert content_only.guid and content_only.guid_key
    assert normalize_title("  The  BIG, news!! ") == "the big news"


def test_discover_feeds() -> None:
    page = b"""<html><head><base href="http://ex.org/news/">
    <link rel="alternate" type="application/rss+xml" title="Main" href="rss.xml">
    <link rel="Alternate" type="application/atom+xml" href="/atom.xml">
    <link rel="alternate" type="application/rss+xml" href="rss.xml">
    <link rel="alternate" hreflang="fr" href="/fr/">
    <link rel="stylesheet" type="text/css" href="s.css"></head><body></body></html>"""
    found = discover_feeds(page, "http://ex.org/")
    assert found == [
        {"url": "http://ex.org/news/rss.xml", "title": "Main", "type": "application/rss+xml"},
        {"url": "http://ex.org/atom.xml", "title": None, "type": "application/atom+xml"},
    ]
    assert discover_feeds(b"", "http://ex.org/") == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason="feedparser corpus not available")
def test_corpus_json_feed_meets_its_expectation() -> None:
    parsed = parse_feed((CORPUS / "json/example.json").read_bytes(), {}, UPSTREAM + "json/example.json")
    assert (parsed.version, parsed.title, parsed.warning, len(parsed.entries)) == (
        "json1", "My Example Feed", None, 2)
    assert parsed.entries[1].summary == "Hello, world!"  # its <script> is not text


RELATIVE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>a</title><link>/a/1</link></item>
<item xml:base="/sub/"><title>b</title><link>b2</link></item></channel></rss>"""
RELATIVE_ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="/base/">
<title>T</title><entry><title>a</title><id>i1</id><link href="x1"/></entry>
<entry xml:base="http://other.example/o/"><title>b</title><id>i2</id><link href="y"/></entry></feed>"""


@pytest.mark.parametrize("location", ["javascript:alert(1)", "data:text/html,x", "http://[::1", " ", None])
def test_unusable_content_location_leaves_the_response_url_as_base(location: str | None) -> None:
    headers = {"Content-Type": "application/xml"}
    if location is not None:
        headers["Content-Location"] = location
    url = "http://h.test/f/feed.xml"
    assert feed_base(headers, url) == url
    rss = parse_feed(RELATIVE_RSS, headers, url)
    assert [e.link for e in rss.entries] == ["http://h.test/a/1", "http://h.test/sub/b2"]  # xml:base too
    atom = parse_feed(RELATIVE_ATOM, headers, url)
    assert [e.link for e in atom.entries] == ["http://h.test/base/x1", "http://other.example/o/y"]


def test_http_content_location_is_the_base() -> None:
    headers = {"Content-Type": "application/xml", "Content-Location": "https://mirror.test/m/feed.xml"}
    assert feed_base(headers, "http://h.test/f/feed.xml") == "https://mirror.test/m/feed.xml"
    rss = parse_feed(RELATIVE_RSS, headers, "http://h.test/f/feed.xml")
    assert [e.link for e in rss.entries] == ["https://mirror.test/a/1", "https://mirror.test/sub/b2"]


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "https://j.test/",
    "items": [
        {"id": 7, "url": "/posts/7", "title": "Seven", "content_html": "<p>Acme <b>Corp</b></p><script>x()"
         "</script>", "summary": "Short", "date_published": "2027-06-01T10:00:00+02:00"},
        {"id": "8", "external_url": "https://elsewhere.test/8", "content_text": "Plain text",
         "date_modified": "2027-06-02T10:00:00Z"},
        "not an object",
    ],
}


@pytest.mark.parametrize("ctype", ["application/feed+json", "application/json; charset=utf-8", "text/plain"])
def test_json_feed_parses_into_the_same_entries(ctype: str) -> None:
    parsed = parse_feed(json.dumps(JSON_FEED).encode(), {"Content-Type": ctype}, "https://j.test/feed.json")
    assert parsed.version == "json11" and parsed.title == "J" and parsed.is_feed and parsed.error is None
    seven, eight = parsed.entries
    assert (seven.guid, seven.link, seven.title, seven.summary, seven.content) == (
        "7", "https://j.test/posts/7", "Seven", "Short", "Acme Corp")
    assert seven.published == datetime(2027, 6, 1, 8, tzinfo=UTC)
    assert (eight.guid, eight.link, eight.title, eight.summary, eight.content) == (
        "8", "https://elsewhere.test/8", None, "Plain text", None)
    assert eight.published == datetime(2027, 6, 2, 10, tzinfo=UTC)
    assert parsed.warning == "1 items are not JSON objects (skipped)"
    v1 = parse_feed(json.dumps({**JSON_FEED, "version": "https://jsonfeed.org/version/1"}).encode(),
                    {"Content-Type": "application/json"}, "https://j.test/feed.json")
    assert v1.version == "json1" and len(v1.entries) == 2


@pytest.mark.parametrize("body", [b'{"version": "2", "items": []}', b'{"version": ', b"[1, 2]",
                                  b"[" * 100_000, b'{"a":' * 100_000])
def test_json_that_is_no_json_feed_is_not_a_feed(body: bytes) -> None:
    parsed = parse_feed(body, {"Content-Type": "application/json"}, "https://j.test/x.json")
    assert not parsed.is_feed
    if body.startswith(b"{"):
        assert (parsed.error or "").startswith("not a feed")


def test_xml_feed_labelled_json_is_still_read() -> None:
    parsed = parse_feed(RSS, {"Content-Type": "application/json"}, "http://ex.org/feed.xml")
    assert parsed.version == "rss20" and len(parsed.entries) == 2


def test_caps_on_bytes_and_entries() -> None:
    items = "".join(f"<item><title>t{i}</title><guid isPermaLink='false'>g{i}</guid></item>"
                    for i in range(50))
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    capped = parse_feed(doc, HEADERS, "http://ex.org/f", max_entries=20)
    assert [e.guid for e in capped.entries] == [f"g{i}" for i in range(20)]
    assert "too-many-entries: 30 entries beyond the first 20" in (capped.warning or "")
    cut = parse_feed(doc, HEADERS, "http://ex.org/f", max_bytes=len(doc) // 2)
    assert 0 < len(cut.entries) < 50 and (cut.warning or "").startswith("too-large: the document is")
    as_json = json.dumps({**JSON_FEED, "items": [{"id": i} for i in range(50)]}).encode()
    assert parse_feed(as_json, {}, "http://j/", max_bytes=100).error == (
        f"too-large: the JSON document is {len(as_json):,} bytes (limit 100)")
    json_capped = parse_feed(as_json, {}, "http://j/", max_entries=5)
    assert len(json_capped.entries) == 5 and "45 entries beyond" in (json_capped.warning or "")


def test_many_unclosed_tags_in_entries_are_read_as_text() -> None:
    content = "<div><p>word " * 3000
    items = "".join(f"<item><title>t{i}</title><guid>g{i}</guid><description><![CDATA[{content}]]>"
                    "</description></item>" for i in range(20))
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    parsed = parse_feed(doc, HEADERS, "http://ex.org/f")
    assert len(parsed.entries) == 20 and (parsed.entries[0].summary or "").count("word") == 3000
