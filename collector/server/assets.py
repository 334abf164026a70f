"""The interface's stylesheet, its small script and its icon, served from memory (no build step, no
package data).

The pages' CSP (``style-src 'self'``) forbids inline styles, so nothing is positioned by a ``style``
attribute: the timeline's marks carry one class per decimal digit of their position
(``collector.server.html.position_classes``), each setting a custom property that ``.pos`` adds up.
The script filters the citation dashboard by verdict and, on a job's page, polls ``/api/jobs/{id}`` and
reloads the page when a result arrives; every page works without it (a job's page by reloading it).
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.server.html import POSITION_STEPS

__all__ = ["CSS", "ICON", "JS", "position_css", "routes"]


def position_css() -> str:
    """The rules behind ``position_classes``: ``left`` is the sum of one custom property per digit."""
    names = [prefix for prefix, _ in POSITION_STEPS]
    total = " + ".join(f"var(--{n}, 0%)" for n in names)
    rules = [f".pos {{ left:calc({total}); }}"]
    for prefix, unit in POSITION_STEPS:
        top = 11 if prefix == names[0] else 10  # the first digit reaches 10 (100%)
        rules.append(" ".join(f".{prefix}{d} {{ --{prefix}:{d * unit:g}%; }}" for d in range(1, top)))
    return "\n".join(rules) + "\n"

CSS = """
:root { --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, sans-serif; color:#1f2328; }
header.site { display:flex; flex-wrap:wrap; gap:.6em 1.5em; align-items:center; padding:.6em 1.2em;
  background:#24292f; }
header.site a { color:#fff; text-decoration:none; } header.site nav a { margin-right:1em; }
header.site .brand { font-weight:700; }
header.site form.quick { margin-left:auto; display:flex; gap:.3em; min-width:0; max-width:100%; }
header.site form.quick input { min-width:0; flex:1 1 14em; }
main { max-width:70em; margin:0 auto; padding:1em 1.2em; } main.wide { max-width:none; }
h1 { font-size:1.4em; word-break:break-all; } h2 { font-size:1.15em; margin-top:1.6em; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; width:100%; margin:.6em 0; font-size:.92em; }
th, td { border-bottom:1px solid var(--line); padding:.35em .5em; text-align:left; vertical-align:top; }
th { background:var(--bg); } td.url, .url { overflow-wrap:anywhere; word-break:normal; }
.badge { display:inline-block; padding:0 .5em; border-radius:1em; font-size:.85em; }
.badge.ok, .badge.warn, .badge.bad, .badge.muted { color:#fff; }
.badge.ok { background:var(--ok); } .badge.warn { background:var(--warn); }
.badge.bad { background:var(--bad); } .badge.muted { background:var(--muted); }
.counts { display:flex; gap:1em; flex-wrap:wrap; } .counts div { background:var(--bg); padding:.6em 1em;
  border-radius:.4em; } .counts b { display:block; font-size:1.5em; }
.hash { font-family:ui-monospace, monospace; font-size:.85em; word-break:break-all; }
pre { background:var(--bg); padding:.8em; overflow:auto; white-space:pre-wrap; }
.banner { background:#fff8c5; border-bottom:2px solid #d4a72c; padding:.5em 1.2em; font-size:.9em; }
.banner .hash { font-size:.8em; } .banner a { margin-right:.8em; }
iframe.replay { display:block; width:100%; height:calc(100vh - 8em); border:0; }
iframe.inline { height:30em; border:1px solid var(--line); }
.axis { position:relative; height:3.2em; border-bottom:2px solid var(--line); margin:1em 0 2em; }
.axis a.dot { position:absolute; bottom:-.45em; width:.9em; height:.9em; border-radius:50%;
  margin-left:-.45em; background:var(--ok); }
.axis a.dot.bad { background:var(--bad); } .axis a.dot.muted { background:var(--muted); }
.axis a.dot.change { outline:3px solid var(--warn); }
.axis a.dot.browser { border-radius:0; }
.beside { display:flex; gap:1em; align-items:flex-start; } .beside > section, .beside > iframe { flex:2; }
figure.screenshot { flex:1; margin:0; }
figure.screenshot img { max-width:100%; border:1px solid var(--line); }
.axis span.check { position:absolute; top:0; margin-left:-.3em; width:.6em; height:1.2em; }
.axis span.check.ok { background:var(--ok); } .axis span.check.warn { background:var(--warn); }
.axis span.check.bad { background:var(--bad); } .axis span.check.muted { background:var(--muted); }
.axis .end { position:absolute; top:2.2em; font-size:.75em; color:var(--muted); }
.axis .end.start { left:0; } .axis .end.stop { right:0; }
table.diff td { width:50%; white-space:pre-wrap; font-family:ui-serif, serif; }
table.diff tr.replace td, table.diff tr.delete td.left, table.diff tr.insert td.right { background:#fff8c5; }
del { background:#ffebe9; color:var(--bad); } ins { background:#dafbe1; color:var(--ok);
  text-decoration:none; } mark { background:#ddf4ff; outline:1px solid #54aeff; }
.error { color:var(--bad); } .muted, .foot { color:var(--muted); } .foot { font-size:.85em; }
form.filters { display:flex; gap:.5em; flex-wrap:wrap; align-items:end; margin:.6em 0; }
form.filters label { display:flex; flex-direction:column; font-size:.85em; }
.hit { margin:1em 0; } .hit .snippet { margin:.2em 0; }
.health { display:flex; gap:.5em; flex-wrap:wrap; margin:.6em 0 1em; }
.health .figure { background:var(--bg); padding:.4em .8em; border-radius:.3em;
  border-left:4px solid var(--muted); }
.health .figure b { display:block; font-size:1.3em; }
.health .figure.ok { border-left-color:var(--ok); } .health .figure.warn { border-left-color:var(--warn); }
.health .figure.bad { border-left-color:var(--bad); }
.health.compact { gap:.25em; font-size:.8em; } .health.compact .figure { padding:.1em .4em; }
.health.compact .figure b { display:inline; font-size:1em; margin-right:.25em; }
form.act fieldset { border:1px solid var(--line); border-radius:.4em; display:flex; flex-wrap:wrap; gap:.5em;
  align-items:end; margin:.8em 0; max-width:100%; }
form.act label { display:flex; flex-direction:column; font-size:.85em; min-width:0; max-width:100%; }
form.act input, form.act select { max-width:100%; }
form.act.inline, form.row { display:inline-block; margin:0 .3em .3em 0; }
.actions .now { margin:.6em 0; }
button.small { font-size:.8em; padding:.05em .5em; }
header.site form.logout { display:flex; gap:.5em; align-items:center; }
header.site .who { color:#fff; }
p.count { margin:.4em 0; } nav.pager { display:flex; flex-wrap:wrap; gap:.3em .6em; margin:1em 0; }
nav.pager .current { font-weight:700; padding:0 .3em; border-bottom:2px solid #24292f; }
nav.pager .gap { color:var(--muted); }
details.source summary { cursor:pointer; }
s.ignored { color:#57606a; background:#eaeef2; text-decoration:line-through; }
.ignored-rules { background:var(--bg); border-left:4px solid var(--muted); padding:.2em 1em; }
iframe.replay.pdf { border:0; }
@media (max-width: 640px) {
  table.dashboard thead { display:none; }
  table.dashboard, table.dashboard tbody, table.dashboard tr, table.dashboard td { display:block;
    width:100%; }
  table.dashboard tr { border-bottom:2px solid var(--line); padding:.4em 0; }
  table.dashboard td { border:0; padding:.1em .3em; }
  table.dashboard td[data-label]::before { content:attr(data-label) ": "; font-weight:600; color:#57606a; }
}
""" + position_css()

JS = """
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var job = document.querySelector('[data-job]');
  if (job && ['queued', 'running'].indexOf(job.getAttribute('data-state')) >= 0) {
    var seen = job.getAttribute('data-state') + ':' + job.querySelectorAll('.results tbody tr').length;
    var timer = window.setInterval(function () {
      fetch('/api/jobs/' + job.getAttribute('data-job'), {headers: {'Accept': 'application/json'}})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.state + ':' + data.done !== seen) {
            window.clearInterval(timer);
            window.location.reload();
          }
        });
    }, 700);
  }
});
document.addEventListener('DOMContentLoaded', function () {
  var select = document.querySelector('select[data-filter="verdict"]');
  if (!select) { return; }
  var button = select.form && select.form.querySelector('button');
  if (button) { button.hidden = true; }
  select.addEventListener('change', function () {
    var wanted = select.value;
    document.querySelectorAll('tr[data-verdict]').forEach(function (row) {
      row.hidden = wanted !== '' && row.getAttribute('data-verdict') !== wanted;
    });
    var url = new URL(window.location.href);
    if (wanted) { url.searchParams.set('verdict', wanted); } else { url.searchParams.delete('verdict'); }
    window.history.replaceState(null, '', url.toString());
  });
});
"""

ICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3"
fill="#24292f"/><circle cx="8" cy="8" r="4" fill="#1a7f37"/></svg>
"""

_FILES = {"app.css": (CSS.encode(), "text/css; charset=utf-8"),
          "app.js": (JS.encode(), "text/javascript; charset=utf-8"),
          "icon.svg": (ICON.encode(), "image/svg+xml")}
_ETAGS = {name: '"' + hashlib.sha256(body).hexdigest()[:16] + '"' for name, (body, _) in _FILES.items()}


async def static(request: Request) -> Response:
    """``/static/app.css``, ``/static/app.js`` and ``/static/icon.svg`` (cacheable, with an ETag)."""
    name = request.path_params["name"]
    if name not in _FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    if request.headers.get("if-none-match") == _ETAGS[name]:
        return Response(status_code=304, headers={"ETag": _ETAGS[name]})
    body, media_type = _FILES[name]
    return Response(body, media_type=media_type,
                    headers={"ETag": _ETAGS[name], "Cache-Control": "public, max-age=3600"})


def routes() -> list[Route]:
    """The static routes."""
    return [Route("/static/{name}", static)]
