"""A local web of feeds that grow and break, run as a subprocess; prints ``PORT <n>`` when ready.

Routes:
  /feed/<name>.xml      RSS 2.0 of feed <name> (ETag, Last-Modified, 304 on a matching validator)
  /atom/<name>.xml      the same entries as Atom 1.0
  /json/<name>.json     the same entries as JSON Feed 1.1 (application/feed+json)
  /page-json.html       a page announcing a JSON Feed, a JSON "Feed" and a JSON API (not a feed)
  /huge/<n>.xml         an RSS feed of <n> entries (~300 bytes each), streamed in 1 MB chunks
  /tangle/<n>.xml       <n> entries whose content is thousands of unclosed, nested tags
  /article/<slug>       the HTML article of an entry (its "text")
  /page.html            a page announcing two feeds with <link rel="alternate">
  /bench/<i>.xml        static feeds for benchmarks (20 entries each)
  /_control  (POST)     JSON {"feed": name, "add": [entry...], "grow": n, "mode": m, "reset": true}
  /_stats?feed=<name>   JSON counters: requests, conditional, not_modified
Modes: ok, amp (unescaped ampersands), truncated, encoding (declares UTF-8, sends Latin-1),
status:<code>, reset (connection closed), html (not a feed), no-validators, jsloc (a
``Content-Location: javascript:...`` header). An entry added with ``"title": null`` has no title.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import sys
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

_lock = threading.Lock()
_feeds: dict[str, dict[str, Any]] = {}
_articles: dict[str, str] = {}
_T0 = 1_780_000_000  # the first entry's publication time


def _feed(name: str) -> dict[str, Any]:
    return _feeds.setdefault(name, {"entries": [], "mode": "ok", "modified": _T0, "serial": 0,
                                    "stats": {"requests": 0, "conditional": 0, "not_modified": 0}})


def _grow(name: str, count: int) -> None:
    feed = _feed(name)
    for _ in range(count):
        n = len(feed["entries"]) + 1
        _add(name, {"title": f"{name} story {n}", "summary": f"Summary of story {n}.",
                    "text": f"The full text of story {n} of {name}."})


def _add(name: str, entry: dict[str, Any]) -> None:
    feed = _feed(name)
    n = len(feed["entries"]) + 1
    slug = entry.get("slug") or f"{name}-{n}"
    item = {"guid": entry.get("guid", f"urn:test:{name}:{n}"), "slug": slug,
            "link": entry.get("link"), "title": entry.get("title", f"{name} entry {n}"),
            "summary": entry.get("summary", ""), "published": entry.get("published", _T0 + 3600 * n)}
    feed["entries"].append(item)
    feed["modified"] = max(feed["modified"] + 1, item["published"])
    _articles[slug] = entry.get("text", f"Article {slug}.")


def rss(name: str, base: str) -> str:
    feed = _feed(name)
    items = []
    for e in reversed(feed["entries"]):
        link = e["link"] or f"{base}/article/{e['slug']}"
        guid = f"<guid isPermaLink=\"false\">{escape(e['guid'])}</guid>" if e["guid"] else ""
        title = f"<title>{escape(e['title'])}</title>" if e["title"] is not None else ""
        items.append(f"<item>{title}<link>{escape(link)}</link>{guid}"
                     f"<description>{escape(e['summary'])}</description>"
                     f"<pubDate>{formatdate(e['published'], usegmt=True)}</pubDate></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Feed {escape(name)}</title><link>{base}/</link><description>test</description>"
            + "".join(items) + "</channel></rss>")


def atom(name: str, base: str) -> str:
    feed = _feed(name)
    items = []
    for e in reversed(feed["entries"]):
        link = e["link"] or f"{base}/article/{e['slug']}"
        when = formatdate(e["published"], usegmt=True)
        items.append(f"<entry><title>{escape(e['title'])}</title><link href=\"{escape(link)}\"/>"
                     f"<id>{escape(e['guid'] or link)}</id><updated>{_iso(e['published'])}</updated>"
                     f"<summary>{escape(e['summary'])}</summary><!-- {when} --></entry>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Feed {escape(name)}</title><id>urn:test:{escape(name)}</id>"
            f"<updated>{_iso(feed['modified'])}</updated>" + "".join(items) + "</feed>")


def json_feed(name: str, base: str) -> str:
    feed = _feed(name)
    items = [{"id": e["guid"] or e["slug"], "url": e["link"] or f"{base}/article/{e['slug']}",
              "title": e["title"], "content_html": f"<p>{escape(e['summary'])}</p>",
              "date_published": _iso(e["published"])} for e in reversed(feed["entries"])]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": f"Feed {name}",
                       "home_page_url": f"{base}/", "items": [{k: v for k, v in i.items() if v is not None}
                                                              for i in items]})


_huge: dict[int, bytes] = {}


def huge_feed(n: int, base: str) -> bytes:
    """An RSS document of ``n`` entries (built once per size)."""
    if n not in _huge:
        items = "".join(
            f"<item><title>Huge story {i}</title><link>{base}/article/huge-{i}</link>"
            f"<guid isPermaLink=\"false\">urn:huge:{i}</guid><description>Story {i} of the huge feed, "
            f"with a summary long enough to be a realistic news item of a feed.</description>"
            f"<pubDate>{formatdate(_T0 + i, usegmt=True)}</pubDate></item>" for i in range(n, 0, -1))
        _huge[n] = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Huge'
                    f"</title><link>{base}/</link><description>huge</description>{items}</channel></rss>"
                    ).encode()
    return _huge[n]


def tangle_feed(n: int, base: str) -> bytes:
    """``n`` entries whose content is 2,000 nested, never closed tags (a sanitizer's worst case)."""
    content = "<div><p><span>word " * 2000
    items = "".join(
        f"<item><title>Tangle {i}</title><link>{base}/article/tangle-{i}</link>"
        f"<guid isPermaLink=\"false\">urn:tangle:{i}</guid><description><![CDATA[{content}]]>"
        f"</description></item>" for i in range(n, 0, -1))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Tangle</title>'
            f"<link>{base}/</link><description>tangle</description>{items}</channel></rss>").encode()


def _iso(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def bench_feed(i: int, base: str) -> str:
    items = "".join(
        f"<item><title>Bench feed {i} story {n}</title><link>{base}/article/bench-{i}-{n}</link>"
        f"<guid>urn:bench:{i}:{n}</guid><description>Story {n} of bench feed {i}, with a summary "
        f"long enough to be realistic for a news feed item.</description>"
        f"<pubDate>{formatdate(_T0 + 60 * n, usegmt=True)}</pubDate></item>" for n in range(20, 0, -1))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Bench {i}'
            f"</title><link>{base}/</link><description>bench</description>{items}</channel></rss>")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), 1 << 20):
            self.wfile.write(body[start:start + (1 << 20)])

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        with _lock:
            name = data.get("feed", "main")
            feed = _feed(name)
            if data.get("reset"):
                _feeds.pop(name, None)
                feed = _feed(name)
            for entry in data.get("add", []):
                _add(name, entry)
            if data.get("grow"):
                _grow(name, int(data["grow"]))
            if "mode" in data:
                feed["mode"] = data["mode"]
        self._send(200, b"ok", "text/plain")

    def _conditional(self, feed: dict[str, Any], etag: str, modified: str) -> bool:
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm or ims:
            feed["stats"]["conditional"] += 1
        if inm is not None:
            return inm == etag
        return ims is not None and ims == modified

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        base = f"http://{self.headers.get('Host')}"
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/_stats":
            with _lock:
                stats = dict(_feed(query["feed"][0])["stats"])
            return self._send(200, json.dumps(stats).encode(), "application/json")
        if path.startswith("/article/"):
            slug = path.split("/", 2)[2]
            text = _articles.get(slug, f"Article {slug}.")
            body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(slug)}</title>"
                    f"</head><body><article><h1>{escape(slug)}</h1><p>{escape(text)} This paragraph "
                    "is long enough for the extractor to take it as the main text of the page, with "
                    "enough words in it.</p></article></body></html>")
            return self._send(200, body.encode(), "text/html; charset=utf-8")
        if path == "/page.html":
            body = (f"<html><head><base href='{base}/feed/'><title>News</title>"
                    "<link rel='alternate' type='application/rss+xml' title='Main RSS' href='main.xml'>"
                    f"<link rel='alternate' type='application/atom+xml' href='{base}/atom/main.xml'>"
                    "<link rel='stylesheet' href='/s.css'></head><body><p>News page</p></body></html>")
            return self._send(200, body.encode(), "text/html")
        if path == "/page-json.html":
            body = ("<html><head><title>News</title>"
                    "<link rel='alternate' type='application/feed+json' title='JSON' href='/json/main.json'>"
                    "<link rel='alternate' type='application/json' title='JSON Feed' href='/json/j2.json'>"
                    "<link rel='alternate' type='application/json' title='API' href='/api/items'>"
                    "</head><body><p>News page</p></body></html>")
            return self._send(200, body.encode(), "text/html")
        if path.startswith("/huge/"):
            return self._stream(huge_feed(int(path.rsplit("/", 1)[1].split(".")[0]), base),
                                "application/rss+xml; charset=utf-8")
        if path.startswith("/tangle/"):
            return self._stream(tangle_feed(int(path.rsplit("/", 1)[1].split(".")[0]), base),
                                "application/rss+xml; charset=utf-8")
        if path.startswith("/json/"):
            name = path.rsplit("/", 1)[1].rsplit(".", 1)[0]
            with _lock:
                doc = json_feed(name, base)
            return self._send(200, doc.encode(), "application/feed+json")
        if path.startswith("/bench/"):
            i = int(path.rsplit("/", 1)[1].split(".")[0])
            body = bench_feed(i, base).encode()
            etag = f'"b{i}-{hashlib.sha256(body).hexdigest()[:12]}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", "", {"ETag": etag})
            return self._send(200, body, "application/rss+xml; charset=utf-8", {"ETag": etag})
        if path.startswith(("/feed/", "/atom/")):
            name = path.rsplit("/", 1)[1].rsplit(".", 1)[0]
            with _lock:
                feed = _feed(name)
                feed["stats"]["requests"] += 1
                mode = feed["mode"]
                doc = atom(name, base) if path.startswith("/atom/") else rss(name, base)
                modified = formatdate(feed["modified"], usegmt=True)
            if mode.startswith("status:"):
                return self._send(int(mode.split(":")[1]), b"error", "text/plain")
            if mode == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                self.connection.close()
                self.close_connection = True
                return None
            if mode == "html":
                return self._send(200, b"<html><body><p>No feed here.</p></body></html>", "text/html")
            body = doc.encode("utf-8")
            if mode == "amp":
                body = body.replace(b"&amp;", b"&")
            elif mode == "truncated":
                body = body[: int(len(body) * 0.6)]
            elif mode == "encoding":
                body = doc.encode("latin-1", "replace")
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            validators = {} if mode == "no-validators" else {"ETag": etag, "Last-Modified": modified}
            if mode == "jsloc":
                validators["Content-Location"] = "javascript:alert(document.domain)"
            if validators and self._conditional(feed, etag, modified):
                with _lock:
                    feed["stats"]["not_modified"] += 1
                return self._send(304, b"", "", validators)
            ctype = "application/atom+xml" if path.startswith("/atom/") else "application/rss+xml"
            return self._send(200, body, f"{ctype}; charset=utf-8", validators)
        return self._send(404, b"not found", "text/plain")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
