"""A local "social web" for browser-capture tests. Run as a subprocess; prints ``PORT <n>`` when ready.

Routes:
  /post/<n>          a JavaScript shell: the post's text and images arrive by XHR after load and are
                     drawn in a red box (#post, rgb(200, 30, 60), 600x200 at the top left)
  /app/<n>           the post of /post/<n> as an application serves it: each answer names a new
                     build (the bytes differ, the text a reader sees does not), and nothing in the
                     HTML marks it as a shell (no <noscript>, no empty application root)
  /app.js            the post's script (sent gzip-encoded when the client accepts it)
  /api/post/<n>      the post as JSON: text (POST_TEXT % n, EDITED_TEXT % n once edited) and two
                     image URLs
  /_edit/<n>         edits post n (its text becomes EDITED_TEXT % n)
  /img/<name>.png    a small PNG (colour from the name's hash)
  /timeline          an infinite-scroll timeline: 3 items, 3 more per scroll to the bottom (4 pages),
                     loaded LATE_MS after the scrolling pauses there (debounced)
  /api/timeline?page=P  the items of page P as JSON
  /lazy              images with loading="lazy" and data-src (IntersectionObserver) 3000 px down
  /consent           an article covered by a cookie banner (a fixed blue overlay, "Accept all")
  /never             a page whose image never answers (the load event never fires)
  /hang              never answers (until the client goes)
  /private           a page whose script fetches private addresses (10.255.255.1, 169.254.169.254)
  /navigate          a page whose script navigates away after load (to /post/9)
  /static            a plain static article (no script)
  /bench/<n>         a JavaScript page with 20 sub-resources (bench/browser_bench.py)
  /login             a login form (#user, #pass, #go); POSTed with LOGIN_USER and the password in
                     $SOCIALWEB_PASSWORD (default LOGIN_PASSWORD) it sets the session cookie ``sid``
                     (a random value per server) and redirects to /welcome, which keeps an API token
                     in local storage
  /wall/<n>          a post behind a login wall: the post (WALL_TEXT % n) with a valid ``sid``
                     cookie, else "Log in to see this post"; it also refreshes ``sid`` and sets a
                     ``theme`` cookie, and its script calls /api/me with ``Authorization: Bearer``
                     and the token (the reader's name is shown when the token is right)
  /wall-video/<n>    a members-only video page: with a valid ``sid``, a <video> of /wall-media/<n>.mp4,
                     else the wall
  /wall-media/<n>.mp4  the video (VIDEO, a few bytes of video/mp4) with a valid ``sid``, else 403
  /redirecting?to=U  a page whose image (U/pixel.png) and XHR (U/data.json) are redirects to U's server
  /redirect?to=U     302 to U
  /robots-page       a page with an image robots.txt disallows (/blocked/a.png) and one it allows
  /robots.txt        disallows /blocked/ (each fetch counted: /robots-count)
  /robots-redirects  a page whose image (two hops) and XHR redirect to /blocked/ URLs, and whose other
                     image redirects to an allowed one
  /blocked/<name>    a PNG robots.txt forbids (each path fetched listed by /blocked-fetches)
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import secrets
import struct
import sys
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

LOGIN_USER = "reporter"
LOGIN_PASSWORD = "correct horse battery staple"
SESSION = secrets.token_hex(16)  # the session cookie's value (this server's only session)
TOKEN = secrets.token_hex(16)  # the API token the welcome page keeps in local storage
WALL_TEXT = ("Members-only post %s: the harbour authority's internal memo says the river port "
             "closure was decided in March, months before the council session.")

POST_TEXT = ("Post %s: the mayor announced on Tuesday that the river port will close for repairs "
             "until spring, according to the minutes of the council session published this week.")
EDITED_TEXT = ("Post %s (edited): the harbour authority says the ferry terminal stays open all winter, "
               "and that the repairs announced earlier were postponed to an unknown date.")
# a few bytes of video/mp4 (an ftyp box and padding): what yt-dlp downloads from /wall-media/
VIDEO = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isomiso2" + bytes(3000)
RED = (200, 30, 60)
BLUE = (20, 40, 220)

APP_JS = """
window.addEventListener('load', () => {
  const id = location.pathname.split('/').pop();
  setTimeout(() => {
    fetch('/api/post/' + id).then(r => r.json()).then(post => {
      const box = document.getElementById('post');
      box.textContent = post.text;
      for (const src of post.images) {
        const img = document.createElement('img');
        img.src = src; img.width = 40; img.height = 40;
        document.getElementById('images').appendChild(img);
      }
    });
  }, 50);
});
"""

SHELL = """<!doctype html><html><head><title>Post %s</title>
<style>body{margin:0;font:16px sans-serif}
#post{position:absolute;left:0;top:0;width:600px;height:200px;background:rgb(200,30,60);color:#fff}
#images{position:absolute;top:220px}</style></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript>
<div id="post"></div><div id="images"></div><div id="root"></div>
<script src="/app.js"></script></body></html>"""

LATE_MS = 800  # how late the timeline's next items and "see more"'s rest come (as on a busy machine)
TIMELINE = """<!doctype html><html><head><title>Timeline</title></head><body>
<div id="feed"></div>
<script>
let page = 0, loading = false;
function more() {
  if (loading || page >= 4) return;
  loading = true;
  fetch('/api/timeline?page=' + page).then(r => r.json()).then(items => {
    for (const text of items) {
      const div = document.createElement('div');
      div.style.height = '700px'; div.className = 'item'; div.textContent = text;
      document.getElementById('feed').appendChild(div);
    }
    page++; loading = false;
  });
}
more();
// as many timelines do, the loader looks at the scroll once it pauses (debounced): the next items
// come some time after the view reached the bottom, as a busy machine's would
let pause = null;
window.addEventListener('scroll', () => {
  clearTimeout(pause);
  pause = setTimeout(() => {
    if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 200) more();
  }, PAUSE_MS);
});
</script></body></html>""".replace("PAUSE_MS", str(LATE_MS))

LAZY = """<!doctype html><html><head><title>Lazy</title></head><body>
<p>A gallery of photographs from the flood, described at length for the record.</p>
<div style="height:3000px"></div>
<img loading="lazy" src="/img/lazy-native.png" width="50" height="50">
<img class="lazy" data-src="/img/lazy-observed.png" width="50" height="50">
<script>
const io = new IntersectionObserver(entries => { for (const e of entries) if (e.isIntersecting) {
  e.target.src = e.target.dataset.src; io.unobserve(e.target); } });
document.querySelectorAll('img.lazy').forEach(img => io.observe(img));
</script></body></html>"""

CONSENT = """<!doctype html><html><head><title>Consent</title>
<style>body{margin:0}#post{position:absolute;left:0;top:0;width:600px;height:200px;
background:rgb(200,30,60);color:#fff}
#banner{position:fixed;left:0;top:0;width:100%;height:100%;background:rgb(20,40,220);z-index:9}
</style></head><body><div id="post">The council's statement on the port closure.</div>
<div id="banner"><p>We use cookies.</p><button onclick="document.getElementById('banner').remove()">
Accept all</button><button>Settings</button></div></body></html>"""

SEE_MORE_REST = "and the rest of the council's statement, fetched when a reader asks for it."
SEE_MORE = """<!doctype html><html><head><title>See more</title></head><body>
<p id="post">The council's statement, shortened: the river port closes</p>
<button onclick="const button = this; setTimeout(() => fetch('/api/rest').then(r => r.text()).then(t => {
  document.getElementById('post').textContent += ' ' + t; button.remove(); }), PAUSE_MS)">See more</button>
</body></html>""".replace("PAUSE_MS", str(LATE_MS))

NEVER = """<!doctype html><html><head><title>Never</title></head><body>
<p>This page never settles: its image never arrives.</p><img src="/hang"></body></html>"""

PRIVATE = """<!doctype html><html><head><title>Private</title></head><body>
<p>A page that reaches for the local network.</p>
<script>
fetch('http://10.255.255.1/secret').catch(() => {});
const img = new Image(); img.src = 'http://169.254.169.254/latest/meta-data';
</script></body></html>"""

NAVIGATE = """<!doctype html><html><head><title>Navigate</title></head><body>
<p>This page tries to leave once loaded.</p>
<script>window.addEventListener('load', () => setTimeout(() => { location.href = '/post/9'; }, 100));
</script></body></html>"""

STATIC = """<!doctype html><html><head><title>Static</title></head><body><article>
<h1>River port to close</h1>""" + "<p>The council decided to close the river port for repairs. " * 20 + \
    "</p></article></body></html>"

BENCH = """<!doctype html><html><head><title>Bench %s</title>%s</head><body><div id="app"></div>
%s<script>document.getElementById('app').textContent = 'Rendered page %s ' + 'text '.repeat(200);
</script></body></html>"""


LOGIN = """<!doctype html><html><head><title>Log in</title></head><body>%s
<form method="post" action="/login"><input id="user" name="user"><input id="pass" name="pass"
type="password"><button id="go" type="submit">Log in</button></form></body></html>"""

WELCOME = """<!doctype html><html><head><title>Welcome</title></head><body>
<p id="welcome">Welcome back.</p><script>localStorage.setItem('token', '%s');</script></body></html>"""

WALL = """<!doctype html><html><head><title>Post %s</title></head><body><article>
<h1>Post %s</h1><p>%s</p></article><p id="me"></p>
<script>fetch('/api/me', {headers: {Authorization: 'Bearer ' + localStorage.getItem('token')}})
.then(r => r.json()).then(me => { document.getElementById('me').textContent = me.name; });</script>
</body></html>"""


def png(name: str, size: int = 8) -> bytes:
    """A small solid PNG whose colour depends on ``name``."""
    r, g, b = hashlib.sha256(name.encode()).digest()[:3]
    row = b"\x00" + bytes([r, g, b]) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


REDIRECTING = """<!doctype html><html><head><title>Redirects</title></head><body>
<p>A page whose image and XHR are redirected elsewhere.</p>
<img src="/redirect?to=%(img)s" width="8" height="8">
<script>fetch('/redirect?to=%(xhr)s').catch(() => {});</script></body></html>"""

ROBOTS_PAGE = """<!doctype html><html><head><title>Robots</title></head><body>
<p>A page with an image robots.txt disallows and one it allows.</p>
<img src="/blocked/a.png" width="8" height="8"><img src="/img/robots-ok.png" width="8" height="8">
</body></html>"""

ROBOTS_REDIRECTS = """<!doctype html><html><head><title>Robots redirects</title></head><body>
<p>A page whose image and XHR are redirected to URLs robots.txt disallows.</p>
<img src="/redirect?to=%2Fredirect%3Fto%3D%2Fblocked%2Fr.png" width="8" height="8">
<img src="/redirect?to=/img/robots-redirect-ok.png" width="8" height="8">
<script>fetch('/redirect?to=/blocked/r.json').catch(() => {});</script></body></html>"""

ROBOTS_FETCHES = [0]
BLOCKED_FETCHES: list[str] = []  # the /blocked/ paths fetched, in order


def bench_page(n: str) -> str:
    """A bench page: 5 stylesheets, 5 scripts, 10 images (20 sub-resources)."""
    head = "".join(f'<link rel="stylesheet" href="/bench-asset/{n}-{i}.css">' for i in range(5))
    body = "".join(f'<img src="/img/bench-{n}-{i}.png" width="8" height="8">' for i in range(10))
    body += "".join(f'<script src="/bench-asset/{n}-{i}.js"></script>' for i in range(5))
    return BENCH % (n, head, body, n)


_BUILDS = itertools.count(1)
_EDITED: set[str] = set()  # the posts edited (/_edit/<n>)
NOSCRIPT = "<noscript>You need to enable JavaScript to run this app.</noscript>"
APP_ROOT = '<div id="root"></div>'


def app_shell(n: str) -> str:
    """The shell of post ``n`` with a build number of its own (as an application's pages have)."""
    page = (SHELL % n).replace("</head>", f'<meta name="build" content="{next(_BUILDS)}"></head>', 1)
    return page.replace(NOSCRIPT, "").replace(APP_ROOT, "")


class Handler(BaseHTTPRequestHandler):
    """Serves the routes of the module docstring."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def send(self, body: bytes | str, ctype: str = "text/html; charset=utf-8", *,
             encode: bool = False, status: int = 200) -> None:
        """Answer ``status`` with ``body`` (gzip-encoded when ``encode`` and the client accepts it)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if encode and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def logged_in(self) -> bool:
        """Whether the request carries the session cookie."""
        cookies = (self.headers.get("Cookie") or "").split(";")
        return f"sid={SESSION}" in [c.strip() for c in cookies]

    def do_POST(self) -> None:
        """The login form: a session cookie and a redirect, or the form again (403)."""
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        password = os.environ.get("SOCIALWEB_PASSWORD", LOGIN_PASSWORD)
        if (urlsplit(self.path).path == "/login" and form.get("user") == [LOGIN_USER]
                and form.get("pass") == [password]):
            self.send_response(303)
            self.send_header("Location", "/welcome")
            self.send_header("Set-Cookie", f"sid={SESSION}; Path=/; HttpOnly")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (LOGIN % "<p>Wrong user name or password.</p>").encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_wall(self, n: str) -> None:
        """A members-only post, or the wall; refreshes the session cookie of a logged-in reader."""
        if self.logged_in():
            body = (WALL % (n, n, WALL_TEXT % n)).encode()
        else:
            body = (WALL % (n, n, "Log in to see this post.")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if self.logged_in():
            self.send_header("Set-Cookie", f"sid={SESSION}; Path=/; HttpOnly")
        self.send_header("Set-Cookie", "theme=dark; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Route one GET."""
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/login":
            self.send(LOGIN % "")
        elif path == "/welcome":
            self.send(WELCOME % TOKEN if self.logged_in() else LOGIN % "")
        elif path.startswith("/wall/"):
            self.send_wall(path.rsplit("/", 1)[1])
        elif path.startswith("/wall-video/"):
            n = path.rsplit("/", 1)[1]
            self.send(f'<html><body><h1>Video {n}</h1><video controls src="/wall-media/{n}.mp4">'
                      '</video></body></html>' if self.logged_in() else LOGIN % "")
        elif path.startswith("/wall-media/"):
            if self.logged_in():
                self.send(VIDEO, "video/mp4")
            else:
                self.send("members only", "text/plain", status=403)
        elif path == "/api/me":
            right = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            self.send(json.dumps({"name": LOGIN_USER if right else "anonymous"}), "application/json")
        elif path.startswith("/post/"):
            self.send(SHELL % path.rsplit("/", 1)[1])
        elif path.startswith("/app/"):
            self.send(app_shell(path.rsplit("/", 1)[1]))
        elif path.startswith("/_edit/"):
            _EDITED.add(path.rsplit("/", 1)[1])
            self.send("edited", "text/plain")
        elif path == "/app.js":
            self.send(APP_JS, "application/javascript", encode=True)
        elif path.startswith("/api/post/"):
            n = path.rsplit("/", 1)[1]
            self.send(json.dumps({"text": (EDITED_TEXT if n in _EDITED else POST_TEXT) % n,
                                  "images": [f"/img/post-{n}-a.png", f"/img/post-{n}-b.png"]}),
                      "application/json")
        elif path.startswith("/img/"):
            self.send(png(path), "image/png")
        elif path == "/timeline":
            self.send(TIMELINE)
        elif path == "/api/timeline":
            page = int(query.get("page", ["0"])[0])
            self.send(json.dumps([f"timeline item {page * 3 + i}" for i in range(3)]),
                      "application/json")
        elif path == "/lazy":
            self.send(LAZY)
        elif path == "/consent":
            self.send(CONSENT)
        elif path == "/seemore":
            self.send(SEE_MORE)
        elif path == "/api/rest":
            self.send(SEE_MORE_REST, "text/plain; charset=utf-8")
        elif path == "/never":
            self.send(NEVER)
        elif path == "/hang":
            time.sleep(120)
        elif path == "/private":
            self.send(PRIVATE)
        elif path == "/navigate":
            self.send(NAVIGATE)
        elif path == "/static":
            self.send(STATIC)
        elif path.startswith("/bench/"):
            self.send(bench_page(path.rsplit("/", 1)[1]))
        elif path.startswith("/bench-asset/"):
            name = path.rsplit("/", 1)[1]
            if name.endswith(".css"):
                self.send(f"/* {name} */ body {{ color: #222; }}\n" * 20, "text/css")
            else:
                self.send(f"/* {name} */ window.x = (window.x || 0) + 1;\n" * 20,
                          "application/javascript", encode=True)
        elif path == "/robots.txt":
            ROBOTS_FETCHES[0] += 1
            self.send("User-agent: *\nDisallow: /blocked/\n", "text/plain")
        elif path == "/robots-count":
            self.send(str(ROBOTS_FETCHES[0]), "text/plain")
        elif path == "/robots-page":
            self.send(ROBOTS_PAGE)
        elif path == "/robots-redirects":
            self.send(ROBOTS_REDIRECTS)
        elif path == "/blocked-fetches":
            self.send(json.dumps(BLOCKED_FETCHES), "application/json")
        elif path.startswith("/blocked/"):
            BLOCKED_FETCHES.append(path)
            self.send(png(path), "image/png")
        elif path == "/redirecting":
            to = query.get("to", [""])[0]
            self.send(REDIRECTING % {"img": quote(to + "/pixel.png", safe=""),
                                     "xhr": quote(to + "/data.json", safe="")})
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.get("to", ["/"])[0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)


def serving() -> Iterator[str]:
    """The social web for a test module (``social = pytest.fixture(scope="module")(serving)``): its
    base URL."""
    from tests.conftest import serve_script  # here: the site itself runs without the tests' conftest

    proc, base = serve_script(Path(__file__))
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def main() -> None:
    """Serve until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
