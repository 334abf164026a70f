"""Local site of pages with requisites and media. Run as a subprocess; prints ``PORT <n>`` when ready.

Routes (all deterministic):
  /article/<n>        an article with a stylesheet, its own photo, a photo every article shares, a
                      script, a favicon, a font preload, a srcset, a missing image (404) and one whose
                      connection is reset
  /static/site.css    a stylesheet: @import of /static/more.css, url() of /img/bg.png and a font
  /static/more.css    a stylesheet with url(/img/more.png)
  /static/app.js      a script
  /img/<name>.png     a PNG (colour from the name; ``photo-*`` is 40x30 red), /img/missing.png 404,
                      /img/reset.png closes the connection without an answer
  /big/<n>.png?kb=K   a K KiB image
  /many?n=N           a page of N distinct images
  /heavy?n=N&kb=K     a page of N images of K KiB each
  /bench/<i>?k=K      a page with K requisites (K-1 images and one stylesheet)
  /plain              a page with no requisites
  /clean/<n>          an article whose requisites all load: /static/clean.css (a background image)
                      and its photo, shown 160x120
  /report.html        a report citing /article/3 and /article/4
  /video.html         a page with a <video src=/media/clip.mp4>; /media/clip.mp4 a few bytes of video/mp4
  /hls.html           a page with a <video src=/media/stream.m3u8> (HLS: playlist of 3 .ts segments)
  /_hits?path=P       how many times P was requested
"""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
import threading
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HITS: Counter[str] = Counter()
LOCK = threading.Lock()

PHOTO_RGB = (220, 20, 30)  # every photo-* image: the visual tests look for this colour


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def colour(name: str) -> tuple[int, int, int]:
    if name.startswith("photo"):
        return PHOTO_RGB
    value = zlib.crc32(name.encode())
    return (value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF)


def article(n: str) -> bytes:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Article {n}</title>
<link rel="stylesheet" href="/static/site.css"><link rel="icon" href="/img/favicon.png">
<link rel="preload" as="font" href="/fonts/body.woff2" crossorigin>
<script src="/static/app.js"></script></head>
<body><article><h1>Article {n}</h1>
<p>The article number {n} reports what the minister said on the record about the harbour project.</p>
<img id="photo" src="/img/photo-{n}.png" alt="photo {n}" width="40" height="30">
<img src="/img/shared.png" srcset="/img/shared-2x.png 2x" alt="shared">
<img src="/img/missing.png" alt="missing"><img src="/img/reset.png" alt="reset">
<p>It goes on with more sentences about the harbour, so that the page reads as an article.</p>
</article></body></html>""".encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with LOCK:
            HITS[path] += 1
        if path == "/_hits":
            with LOCK:
                count = HITS[query["path"][0]]
            return self._send(200, str(count).encode(), "text/plain")
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if path.startswith("/article/"):
            return self._send(200, article(path.rsplit("/", 1)[1]))
        if path.startswith("/clean/"):  # an article whose every requisite loads (the visual test)
            n = path.rsplit("/", 1)[1]
            return self._send(200, f"""<!doctype html><html><head><meta charset="utf-8">
<title>Clean {n}</title><link rel="stylesheet" href="/static/clean.css"></head><body><article>
<h1>Clean article {n}</h1><p>The harbour project, as the minister described it on the record.</p>
<img id="photo" src="/img/photo-{n}.png" alt="photo {n}"></article></body></html>""".encode())
        if path == "/static/clean.css":
            return self._send(200, b"body { background: #fff url(/img/paper.png); color: #111; }\n"
                                   b"#photo { width: 160px; height: 120px; }\n", "text/css")
        if path == "/report.html":
            host = self.headers.get("Host", "")
            cites = "".join(f'<li id="ref-{n}">Article {n}, <a href="http://{host}/article/{n}">'
                            f"http://{host}/article/{n}</a></li>" for n in (3, 4))
            return self._send(200, f"<html><head><title>Harbour report</title></head><body><h1>Harbour "
                                   f"report</h1><p>The minister spoke twice.</p><h2>References</h2><ol>"
                                   f"{cites}</ol></body></html>".encode())
        if path == "/plain":
            return self._send(200, b"<html><body><p>No requisites on this page at all.</p></body></html>")
        if path == "/static/site.css":
            css = (b'@import url("/static/more.css");\n'
                   b"@font-face { font-family: Body; src: url(/fonts/body.woff2) format('woff2'); }\n"
                   b"body { background: #fff url(/img/bg.png) repeat-x; font-family: sans-serif; }\n"
                   b"#photo { border: 2px solid #000; }\n")
            return self._send(200, css, "text/css")
        if path == "/static/more.css":
            return self._send(200, b"h1 { background-image: url('/img/more.png'); }\n", "text/css")
        if path == "/static/app.js":
            return self._send(200, b"document.documentElement.dataset.app = 'ran';\n",
                              "application/javascript")
        if path == "/fonts/body.woff2":
            return self._send(200, b"wOF2" + bytes(60), "font/woff2")
        if path == "/img/missing.png":
            return self._send(404, b"not found", "text/plain")
        if path == "/img/reset.png":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return None
        if path.startswith("/img/") and path.endswith(".png"):
            name = path[5:-4]
            size = (40, 30) if name.startswith("photo") else (8, 8)
            return self._send(200, png(*size, colour(name)), "image/png")
        if path.startswith("/big/"):
            kb = int(query.get("kb", ["100"])[0])
            return self._send(200, b"\x89PNG" + bytes(kb * 1024 - 4), "image/png")
        if path == "/many":
            n = int(query.get("n", ["100"])[0])
            imgs = "".join(f'<img src="/img/many-{i}.png">' for i in range(n))
            return self._send(200, f"<html><body><p>Many images.</p>{imgs}</body></html>".encode())
        if path == "/heavy":
            n, kb = int(query.get("n", ["5"])[0]), int(query.get("kb", ["100"])[0])
            imgs = "".join(f'<img src="/big/{i}.png?kb={kb}">' for i in range(n))
            return self._send(200, f"<html><body><p>Heavy images.</p>{imgs}</body></html>".encode())
        if path.startswith("/bench/"):
            i, k = path.rsplit("/", 1)[1], int(query.get("k", ["10"])[0])
            imgs = "".join(f'<img src="/img/bench-{i}-{j}.png">' for j in range(k - 1))
            return self._send(200, (f'<html><head><link rel="stylesheet" href="/static/more.css">'
                                    f"</head><body><h1>Bench page {i}</h1><p>{'Words of the page. ' * 40}"
                                    f"</p>{imgs}</body></html>").encode())
        if path == "/video.html":
            return self._send(200, b'<html><body><h1>A clip</h1><video controls src="/media/clip.mp4">'
                                   b"</video><p>The clip the report cites.</p></body></html>")
        if path == "/hls.html":
            return self._send(200, b'<html><body><h1>A stream</h1><video controls '
                                   b'src="/media/stream.m3u8"></video></body></html>')
        if path == "/media/clip.mp4":
            return self._send(200, MP4, "video/mp4")
        if path == "/media/stream.m3u8":
            segments = "".join(f"#EXTINF:2.0,\nseg{i}.ts\n" for i in range(3))
            playlist = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
                        f"{segments}#EXT-X-ENDLIST\n")
            return self._send(200, playlist.encode(), "application/vnd.apple.mpegurl")
        if path.startswith("/media/seg") and path.endswith(".ts"):
            return self._send(200, ts_segment(path), "video/mp2t")
        return self._send(404, b"<html><body>not found</body></html>")


# an ISO-BMFF header (ftyp box) and some bytes: enough to be labelled and downloaded as video/mp4
MP4 = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isomiso2" + bytes(2000)


def ts_segment(path: str) -> bytes:
    """An MPEG-TS segment: 188-byte packets starting with the 0x47 sync byte."""
    seed = path.encode()
    return b"".join(b"\x47" + (seed * 200)[:187] for _ in range(20))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that go away (a body over the maximum size) are expected here


def start() -> tuple[subprocess.Popen[str], str]:
    """Run this site in a subprocess; (process, base URL)."""
    from tests.conftest import serve_script  # here: the site itself runs without the tests' conftest

    return serve_script(Path(__file__))


def serving() -> Iterator[str]:
    """The site for a test module (``site = pytest.fixture(scope="module")(serving)``): its base URL."""
    proc, base = start()
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def hits(site: str, path: str) -> int:
    """How many times the running site was asked for ``path``."""
    with urllib.request.urlopen(f"{site}/_hits?path={path}") as response:
        return int(response.read())


def main() -> None:
    server = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
