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
  /gzip                 gzip Content-Encoding
  /chunked              Transfer-Encoding: chunked
  /slow?s=S             sleeps S seconds before answering
  /big?kb=K             K KiB body
  /bomb                 10 KiB gzip that decodes to 64 MiB
  /status/<code>        that status with a small HTML body
  /reset                closes the connection without an answer
  /doc.pdf              a small PDF
  /report.html          an HTML report citing pages on http://localhost:<port>
  /heavy                an HTML page that takes trafilatura seconds
  /robots-blocked/...   disallowed by robots.txt
  /robots.txt           per Host: "localhost" gets Crawl-delay: 1
  /retry-after          503 with Retry-After: 1 the first time per path, 200 after
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="date" content="2025-06-03"></head><body><nav><a href="/">Home</a> | ad: {ad}</nav>
<article><h1>{title}</h1><p>{text} This paragraph is long enough for the extractor to treat it as
the main text of the page, and it says something specific about {name}.</p>
<p>A second paragraph about {name} adds more words, so that the article is clearly the main content
and the navigation is clearly not.</p></article><footer>footer {ad}</footer></body></html>"""

_counter = 0
_lock = threading.Lock()
_seen_retry: set[str] = set()


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

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        global _counter
        target = urlsplit(self.path)
        host = (target.hostname if target.scheme else
                (self.headers.get("Host") or "").split(":")[0])
        path, query = target.path, parse_qs(target.query)
        port = self.server.server_address[1]
        if path == "/robots.txt":
            text = "User-agent: *\nDisallow: /robots-blocked/\n"
            if host == "localhost":
                text += "Crawl-delay: 1\n"
            return self._send(200, text.encode(), "text/plain")
        if path.startswith("/robots-blocked/"):
            return self._send(200, article("blocked"))
        if path.startswith("/page/"):
            name = path.split("/", 2)[2]
            return self._send(200, article(name))
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
            cells = "".join(f"<div><p>Paragraph {i} with some words in it.</p>" for i in range(200000))
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
        if path.startswith("/many/"):
            name = path.split("/", 2)[2]
            digest = hashlib.sha256(name.encode()).hexdigest()
            return self._send(200, article(name, text=f"Digest {digest}."))
        return self._send(404, article("not found"))


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
