"""Local HTTP server of test pages. Run as a subprocess; prints ``PORT <n>`` when ready.

It also acts as an HTTP proxy for absolute-form requests (``GET http://host/path``), answering as if
it were that host, so tests can exercise proxy support with made-up host names.

Routes (all deterministic):
  /page/<name>          an HTML article whose text depends on <name>
  /same                 always the same bytes (revisit tests)
  /counter              different text on every request
  /redirect/<n>         302 chain of n hops ending at /page/final
  /loop                 redirects to itself forever
  /to-file              redirects to file:///etc/passwd
  /to-private           (through the proxy) redirects to http://127.0.0.1:<port>/page/private
  /to?url=U             redirects to U as given (any scheme, any spelling of a host)
  /gzip                 gzip Content-Encoding
  /chunked              Transfer-Encoding: chunked
  /slow?s=S             sleeps S seconds before answering
  /gate/<name>          answers only once /open/<name> was requested (504 after 20 s without it);
                        /close/<name> closes it again: tests assert causality, not wall time
  /big?kb=K             K KiB body
  /bomb                 10 KiB gzip that decodes to 64 MiB
  /status/<code>        that status with a small HTML body
  /reset                closes the connection without an answer
  /doc.pdf              a small PDF
  /report.html          an HTML report citing pages on http://localhost:<port>
  /heavy                an HTML page that takes trafilatura seconds (80,004 tags: under
                        extract_max_tags)
  /robots-blocked/...   disallowed by robots.txt
  /robots.txt           per Host: "localhost" gets Crawl-delay: 1
  /retry-after          503 with Retry-After: 1 the first time per path, 200 after
  /refresh-to?to=U      an HTML page whose head has ``<meta http-equiv="refresh" content="0; url=U">``
  /raw/status?code=C    an HTML page whose status line is written raw: ``HTTP/1.1 C Hostile``
  /raw/ctype-long       an HTML page whose Content-Type header is 300 characters long
  /raw/ctype-nul        an HTML page whose Content-Type header holds a NUL byte
  /toggle/<name>        an article with the status last set by /set-status/<name>/<code> (200 at first)
  /hostile/headers?mb=M    header lines without end (M MiB of them, then the connection closes)
  /hostile/long-header?kb=K  an article with a K KiB Set-Cookie header
  /hostile/no-length?mb=M  M MiB of body without Content-Length (Connection: close)
  /hostile/endless-chunked a chunked body that never ends (until the client goes)
  /hostile/tags?mb=M[&gz=1]  an HTML page of M MiB of tags, gzip-encoded with gz=1
  /hostile/tags?mb=M&kind=p  an HTML page of M MiB of ``<p>a</p>`` (what costs lxml the most)
  /hostile/multi-gzip      an article whose gzip body has two members (text in both)
  /hostile/secret          an article whose text holds SECRET_MARK (fetched only as a target of others)

Started with ``--robots-mb M``, every host's robots.txt is M MiB of rules (a hostile robots.txt),
the last of which disallows /page/late-rule.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="date" content="2025-06-03"></head><body><nav><a href="/">Home</a> | ad: {ad}</nav>
<article><h1>{title}</h1><p>{text} This paragraph is long enough for the extractor to treat it as
the main text of the page, and it says something specific about {name}.</p>
<p>A second paragraph about {name} adds more words, so that the article is clearly the main content
and the navigation is clearly not.</p></article><footer>footer {ad}</footer></body></html>"""

_phases: dict[str, int] = {}  # site -> phase, for the check tests (see check_site)
_counter = 0
_lock = threading.Lock()
_seen_retry: set[str] = set()
_gates: dict[str, threading.Event] = {}  # /gate/<name>, opened by /open/<name>
_toggles: dict[str, int] = {}  # /toggle/<name> answers this status, set by /set-status/<name>/<code>
ROBOTS_MB = 0  # --robots-mb: every robots.txt is this many MiB of rules
SECRET_MARK = "private-marker-6c1f0e"  # never to be found in an archive of the hostile cases
MIB = 1024 * 1024
_tag_pages: dict[int, bytes] = {}  # /hostile/tags gzip bodies by size, made once


def tag_chunks(mb: int, unit: bytes = b"<div><span></span><b></b>") -> Iterator[bytes]:
    """``mb`` MiB of an HTML page that is nothing but tags (``unit`` repeated), in 64 KiB parts."""
    yield b"<html><head><title>Tags</title></head><body>"
    part = (unit * (64 * 1024 // len(unit) + 1))[:64 * 1024 - 5]
    part = part[:part.rfind(b">") + 1]
    for _ in range(mb * 16):
        yield part


def gzip_tags(mb: int) -> bytes:
    """``tag_chunks(mb)`` gzip-compressed (cached: one compression per size)."""
    with _lock:
        if mb not in _tag_pages:
            buf = io.BytesIO()
            with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as gz:
                for chunk in tag_chunks(mb):
                    gz.write(chunk)
            _tag_pages[mb] = buf.getvalue()
        return _tag_pages[mb]


def robots_chunks(mb: int) -> Iterator[bytes]:
    """``mb`` MiB of robots.txt rules, the first of which disallows /robots-blocked/."""
    yield b"User-agent: *\nDisallow: /robots-blocked/\n"
    lines = b"".join(b"Disallow: /private-%06d/*/page$\n" % i for i in range(2000))
    for _ in range(mb * MIB // len(lines)):
        yield lines
    yield b"Disallow: /page/late-rule\n"  # past any sane cap: a crawler that stops reading obeys it not


def article(name: str, ad: str = "static", text: str = "") -> bytes:
    """The HTML of test article ``name``."""
    return ARTICLE.format(title=f"Article {name}", name=name, ad=ad,
                          text=text or f"Text of {name}.").encode()


def _bomb() -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        chunk = b"\0" * (1024 * 1024)
        for _ in range(64):
            gz.write(chunk)
    return buf.getvalue()


BOMB = _bomb()


CORRECTION_1 = ("The council approved the budget on Monday by seven votes to two. The new budget "
                "raises spending on libraries by ten percent. Critics said the increase was too small.")
CORRECTION_2 = CORRECTION_1.replace("seven votes to two", "six votes to three")
DATED = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Council budget</title></head>
<body><nav><a href="/">Home</a> | ad {ad}</nav><article><h1>Council budget</h1>
<p class="dateline">Updated: {day} December 2026, 09:1{day}</p>
<p>The council approved the budget on Monday by seven votes to two, after a debate about libraries and
schools that lasted most of the evening and drew a large crowd of residents to the town hall.</p>
<p class="agenda">Also on the agenda of the evening: {story} plans, approved by the council in a late
vote without any debate at all.</p>
<p>The new budget raises spending on libraries by ten percent, and the mayor said the money would go to
longer opening hours and more staff in the three branches outside the centre.</p>
</article></body></html>"""
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def check_site(handler: Handler, host: str, path: str, query: dict[str, list[str]]) -> bool:
    """Pages of the made-up hosts ``KIND.SITE.test`` for the check tests; phase 2 is "later"."""
    kind, site = host.split(".")[:2]
    phase = _phases.get(site, 1)
    send = handler._send
    if kind == "social":
        if phase == 2:  # every URL answers the same "not available" page with 200
            send(200, b"<html><head><title>Facebook</title></head><body><div><h2>This content "
                      b"isn't available right now</h2><p>When this happens, it's usually because the "
                      b"owner only shared it with a small group of people or it's been deleted.</p>"
                      b"</div></body></html>")
        elif path.startswith("/posts/"):
            send(200, article("post", text="A post about the new community centre and its opening."))
        else:
            send(404, b"not found")
        return True
    if kind == "video":
        if phase == 2:
            send(200, b"<html><head><title>YouTube</title></head><body><div id='player'><h1>Video "
                      b"unavailable</h1><p>This video is no longer available because the YouTube "
                      b"account associated with this video has been terminated.</p></div></body></html>")
        elif path == "/watch":
            send(200, article("video", text="A video interview about river levels and permits."))
        else:
            send(404, b"not found")
        return True
    if path == "/v/unchanged":
        send(200, article("unchanged"))
    elif path == "/v/chrome":
        send(200, article("chrome", ad=f"ad for phase {phase}"))
    elif path == "/v/charset":
        text = "Le conseil a approuvé le budget à l'unanimité après un débat animé sur les écoles."
        if phase == 1:
            send(200, article("charset", text=text))
        else:
            body = article("charset", text=text).decode().replace('charset="utf-8"', 'charset="iso-8859-1"')
            send(200, body.encode("iso-8859-1"), "text/html; charset=iso-8859-1")
    elif path == "/v/moved":
        if phase == 1:
            send(200, article("moved"))
        else:
            send(301, b"", headers={"Location": "/v/moved-new"})
    elif path == "/v/moved-new":
        send(200, article("moved", ad="new layout"))
    elif path == "/v/gone":
        send(200 if phase == 1 else 404, article("gone" if phase == 1 else "not found"))
    elif path == "/v/root":
        if phase == 1:
            send(200, article("root"))
        else:
            send(302, b"", headers={"Location": "/"})
    elif path == "/":
        send(200, article("home page", text="Welcome to the home page of this site."))
    elif path == "/v/reused":
        send(200, article("reused", text="An article about the harbour." if phase == 1 else
                          "A completely different story about a football match and its fans."))
    elif path == "/v/correction":
        send(200, article("correction", text=CORRECTION_1 if phase == 1 else CORRECTION_2))
    elif path in ("/v/dated", "/v/dated-box"):  # only the "Updated: <date>" line changes (ignore rules);
        # on /v/dated-box the agenda paragraph (p.agenda) too
        box = path.endswith("box") and phase == 2
        send(200, DATED.format(day=phase, story="Ferry timetable" if box else "Harbour dredging",
                               ad=phase).encode())
    elif path == "/v/pdf":
        send(200, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")
    elif path == "/v/image":
        send(200, PNG, "image/png")
    elif path == "/v/blocked":
        send(200 if phase == 1 else 403, article("blocked"))
    elif path == "/v/error":
        send(200 if phase == 1 else 500, article("error"))
    elif path == "/v/down":
        if phase == 1:
            send(200, article("down"))
        else:
            handler.connection.close()
            handler.close_connection = True
    else:
        send(404, article("not found"))
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "collector-test/1"

    def log_message(self, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_raw(self, path: str, query: dict[str, list[str]]) -> None:
        status, ctype = b"200", b"text/html; charset=utf-8"
        if path == "/raw/status":
            status = query["code"][0].encode()
        elif path == "/raw/ctype-long":
            ctype = b"text/html; charset=utf-8; " + b"x" * (300 - len(ctype) - 2)
        elif path == "/raw/ctype-nul":
            ctype = b"text/html\x00; charset=utf-8"
        body = article(f"raw {path.rsplit('/', 1)[1]}")
        self.wfile.write(b"HTTP/1.1 " + status + b" Hostile\r\nContent-Type: " + ctype
                         + b"\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)
        self.close_connection = True

    def _stream(self, status: int, chunks: Iterator[bytes], headers: dict[str, str]) -> None:
        """Write a response of unknown length (no Content-Length: the body ends when the connection
        closes); stops quietly when the client goes away."""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        with contextlib.suppress(OSError):
            for chunk in chunks:
                self.wfile.write(chunk)

    def _hostile(self, path: str, query: dict[str, list[str]]) -> None:
        """The /hostile/ routes (see the module docstring)."""
        size = int(query.get("mb", query.get("kb", ["1"]))[0])
        if path == "/hostile/headers":  # header lines until size MiB, never the blank line
            line = b"X-Flood: " + b"f" * 80 + b"\r\n"
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
                block = line * 800
                for _ in range(size * MIB // len(block)):
                    self.wfile.write(block)
            self.close_connection = True
            return None
        if path == "/hostile/long-header":
            cookie = "session=" + "c" * (size * 1024)
            return self._send(200, article("long header"), headers={"Set-Cookie": cookie})
        if path == "/hostile/no-length":
            return self._stream(200, (b"x" * MIB for _ in range(size)),
                                {"Content-Type": "application/octet-stream"})
        if path == "/hostile/endless-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.close_connection = True
            chunk = b"10000\r\n" + b"z" * 0x10000 + b"\r\n"
            with contextlib.suppress(OSError):
                while True:
                    self.wfile.write(chunk)
            return None
        if path == "/hostile/tags":
            if query.get("gz"):
                return self._send(200, gzip_tags(size), headers={"Content-Encoding": "gzip"})
            unit = b"<p>a</p>" if query.get("kind") == ["p"] else b"<div><span></span><b></b>"
            return self._stream(200, tag_chunks(size, unit), {"Content-Type": "text/html"})
        if path == "/hostile/multi-gzip":
            page = article("multi gzip", text="The first member tells the start of the story.")
            cut = page.index(b"</article>")
            body = gzip.compress(page[:cut], mtime=0) + gzip.compress(
                b"<p>The second member tells the end of the story, so that the text of every member "
                b"is extracted, not only the first.</p>" + page[cut:], mtime=0)
            return self._send(200, body, headers={"Content-Encoding": "gzip"})
        if path == "/hostile/secret":
            return self._send(200, article("secret", text=f"The secret is {SECRET_MARK}."))
        return self._send(404, article("not found"))

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        global _counter
        target = urlsplit(self.path)
        host = (target.hostname if target.scheme else
                (self.headers.get("Host") or "").split(":")[0])
        path, query = target.path, parse_qs(target.query)
        port = self.server.server_address[1]
        if path == "/_phase":
            _phases[query["site"][0]] = int(query["n"][0])
            return self._send(200, b"ok", "text/plain")
        if path == "/robots.txt" and ROBOTS_MB:
            return self._stream(200, robots_chunks(ROBOTS_MB), {"Content-Type": "text/plain"})
        if path == "/robots.txt":
            text = "User-agent: *\nDisallow: /robots-blocked/\n"
            if host == "localhost":
                text += "Crawl-delay: 1\n"
            return self._send(200, text.encode(), "text/plain")
        is_check_host = host.endswith(".test") and host.count(".") == 2 and host.split(".")[0] in (
            "news", "social", "video")
        if is_check_host and check_site(self, host, path, query):
            return None
        if path.startswith("/robots-blocked/"):
            return self._send(200, article("blocked"))
        if path.startswith("/page/"):
            name = path.split("/", 2)[2]
            return self._send(200, article(name))
        if path.startswith("/meta-refresh/"):  # a refresh in the head, then ~40 KB of page
            where = "/page/refreshed" if path.endswith("/head") else "/page/too-late"
            tag = f'<meta http-equiv="refresh" content="0; url={where}">'.encode()
            padding = b"<p>" + b"Filler text of a long page. " * 1500 + b"</p>"
            if path.endswith("/head"):
                body = b"<html><head>" + tag + b"</head><body>" + padding + b"</body></html>"
            else:  # a refresh tag far past the head is not one (as in Scrapy: first 4,096 chars)
                body = b"<html><head></head><body>" + padding + tag + b"</body></html>"
            return self._send(200, body)
        if path == "/refresh-to":  # a short page refreshing to any URL, javascript: and mailto: too
            tag = f'<meta http-equiv="refresh" content="0; url={query["to"][0]}">'
            return self._send(200, f"<html><head>{tag}</head><body>{article('refresh')}</body></html>"
                              .encode())
        if path == "/same":
            return self._send(200, article("same"))
        if path == "/counter":
            with _lock:
                _counter += 1
                n = _counter
            return self._send(200, article("counter", text=f"Visit number {n} of the counter."))
        if path == "/chrome":  # same main text, different ad every time
            with _lock:
                _counter += 1
                n = _counter
            return self._send(200, article("chrome", ad=f"ad-{n}"))
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            location = f"/redirect/{n - 1}" if n > 1 else "/page/final"
            return self._send(302, b"", headers={"Location": location})
        if path == "/to-file":
            return self._send(302, b"", headers={"Location": "file:///etc/passwd"})
        if path == "/loop":
            return self._send(302, b"", headers={"Location": "/loop"})
        if path == "/to":
            return self._send(302, b"", headers={"Location": query["url"][0]})
        if path == "/to-private":
            return self._send(302, b"", headers={"Location": f"http://127.0.0.1:{port}/page/p"})
        if path == "/gzip":
            body = gzip.compress(article("gzip"), mtime=0)
            return self._send(200, body, headers={"Content-Encoding": "gzip"})
        if path == "/chunked":
            body = article("chunked")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 100):
                part = body[i:i + 100]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path.startswith(("/open/", "/close/", "/gate/")):
            verb, name = path.split("/")[1:3]
            with _lock:
                gate = _gates.setdefault(name, threading.Event())
            if verb == "open":
                gate.set()
                return self._send(200, b"open", "text/plain")
            if verb == "close":
                gate.clear()
                return self._send(200, b"closed", "text/plain")
            if not gate.wait(20):
                return self._send(504, b"the gate was never opened", "text/plain")
            return self._send(200, article(f"gate {name}"))
        if path.startswith("/set-status/"):
            name, code = path.split("/")[2:4]
            with _lock:
                _toggles[name] = int(code)
            return self._send(200, b"ok", "text/plain")
        if path.startswith("/toggle/"):
            name = path.split("/", 2)[2]
            with _lock:
                code = _toggles.get(name, 200)
            return self._send(code, article(name if code == 200 else f"status {code}"))
        if path == "/slow":
            time.sleep(float(query.get("s", ["1"])[0]))
            return self._send(200, article("slow"))
        if path == "/big":
            kb = int(query.get("kb", ["100"])[0])
            return self._send(200, b"x" * (kb * 1024), "application/octet-stream")
        if path == "/bomb":
            return self._send(200, BOMB, headers={"Content-Encoding": "gzip"})
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return self._send(code, article(f"status {code}"))
        if path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return None
        if path == "/heavy":  # a page that keeps the extractor busy for seconds
            # closed sibling blocks (unclosed ones nest deep and trafilatura gives up on them at once):
            # ~6 s of extraction from 80,004 tags (under extract_max_tags) in 1.7 MB
            cells = "".join(f"<div><p>Paragraph {i} with some words in it, and a few more words to read."
                            "</p></div>" for i in range(20000))
            return self._send(200, f"<html><body>{cells}</body></html>".encode())
        if path == "/report.html":  # a report whose sources live on another host name
            src = f"http://localhost:{port}"
            body = f"""<!doctype html><html><head><title>A test report</title></head><body>
<nav><a href="/">Home</a> <a href="https://twitter.com/share?url=x">Share</a></nav>
<article><h1>A test report</h1>
<p>The first source says that "rivers carry sediment to the sea"<sup><a href="#fn1">1</a></sup>.
The second source is <a href="{src}/page/second">an article about the second thing</a>.</p>
<ol class="footnotes"><li id="fn1">Author One, "Sediment", Site, 2024.
<a href="{src}/page/first">{src}/page/first</a></li></ol></article>
<footer><a href="/about">About us</a></footer></body></html>"""
            return self._send(200, body.encode())
        if path == "/doc.pdf":
            body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
            return self._send(200, body, "application/pdf")
        if path == "/retry-after":
            key = f"{host}{self.path}"
            with _lock:
                first = key not in _seen_retry
                _seen_retry.add(key)
            if first:
                return self._send(503, b"busy", headers={"Retry-After": "1"})
            return self._send(200, article("retry-after"))
        if path.startswith("/hostile/"):
            return self._hostile(path, query)
        if path.startswith("/raw/"):  # hostile status lines and headers, written byte for byte
            return self._send_raw(path, query)
        if path.startswith("/many/"):
            name = path.split("/", 2)[2]
            digest = hashlib.sha256(name.encode()).hexdigest()
            return self._send(200, article(name, text=f"Digest {digest}."))
        return self._send(404, article("not found"))


def main() -> None:
    global ROBOTS_MB
    if "--robots-mb" in sys.argv:
        ROBOTS_MB = int(sys.argv[sys.argv.index("--robots-mb") + 1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
