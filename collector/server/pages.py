"""HTML renderers of the interface's pages: each takes the page's data dict (the same dict served as JSON)
and returns a complete HTML document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collector.server.html import (
    VERDICT_CLASSES,
    a,
    badge,
    capture_badge,
    capture_class,
    esc,
    layout,
    position_classes,
    qs,
    table,
)

__all__ = ["dashboard", "diff", "home", "reports", "search", "snapshot", "spans_html", "timeline"]


def _when(iso: str | None) -> str:
    return esc((iso or "")[:19].replace("T", " ") + ("Z" if iso else ""))


def _web(cap: dict[str, Any], url: str | None = None) -> str:
    return f"/web/{cap['timestamp']}/{url or cap['url']}"


def _capture_rows(captures: list[dict[str, Any]]) -> list[list[str]]:
    return [[a(f"/snapshot/{c['id']}", c["id"]), _when(c["captured_at"]),
             f"<span class='url'>{a('/timeline' + qs(url=c['url']), c['url'])}</span>",
             capture_badge(c["outcome"], c["http_status"], c["reason"]),
             f"<span class='hash'>{esc((c['sha256'] or '')[:12])}</span>"] for c in captures]


def home(data: dict[str, Any]) -> str:
    """Counts, latest captures, latest verdict changes."""
    counts = "".join(f"<div><b>{esc(v)}</b>{esc(k)}</div>" for k, v in data["counts"].items())
    changes = [[_when(c["checked_at"]), f"<span class='url'>{a('/timeline' + qs(url=c['url']), c['url'])}"
                "</span>", badge(c["previous"]) + " → " + badge(c["status"]), esc(c["report"] or "")]
               for c in data["verdict_changes"]]
    body = (f"<div class='counts'>{counts}</div><h2>Latest verdict changes</h2>"
            + (table(["checked", "URL", "verdict", "report"], changes) if changes
               else "<p class='muted'>No check has changed a verdict yet.</p>")
            + "<h2>Latest captures</h2>"
            + table(["#", "captured", "URL", "outcome", "sha256"], _capture_rows(data["latest_captures"])))
    return layout("Archive", body, json_href="/index.json")


def reports(data: dict[str, Any]) -> str:
    """The list of reports."""
    rows = [[a(f"/reports/{r['report']}", r["report"]), esc(r["title"]), esc(r["version"]),
             esc(r["citations"]), esc(r["format"]), _when(r["added_at"])] for r in data["reports"]]
    body = (table(["report", "title", "version", "citations", "format", "added"], rows) if rows
            else "<p class='muted'>No reports yet: add one with <code>collector report add FILE</code>.</p>")
    return layout("Reports", body, json_href="/reports.json")


def _quotes(quotes: list[dict[str, Any]]) -> str:
    marks = {True: ("ok", "found"), False: ("bad", "not found"), None: ("muted", "not checked")}
    return " ".join(f"<span class='badge {marks[q['archived']][0]}' title='{esc(q['text'])}'>"
                    f"{marks[q['archived']][1]}</span>" for q in quotes) or "-"


def dashboard(data: dict[str, Any]) -> str:
    """The citation dashboard of one report."""
    name = data["report"]
    options = "".join(f"<option value='{esc(v)}'{' selected' if v == data['verdict_filter'] else ''}>"
                      f"{esc(v)}</option>" for v in data["verdicts"])
    rows, attrs = [], []
    for row in data["citations"]:
        first, latest = row["first_capture"], row["latest_capture"]
        url = row["url"]
        links = []
        if url and latest:
            good = [c for c in row["captures"] if c["outcome"] == "captured"]
            if good:
                stamp14 = good[-1]["captured_at"][:19].replace("-", "").replace(":", "").replace("T", "")
                links.append(a(f"/web/{stamp14}/{good[-1]['url']}", "snapshot", cls="snapshot"))
            if len(good) > 1:
                links.append(a("/diff" + qs(url=url, report=name), "diff", cls="diff"))
            links.append(a("/timeline" + qs(url=url), "timeline", cls="timeline"))
        url_cell = (f"<span class='url'>{esc(url)}</span>" if url
                    else ("<b>needs a URL</b>" if row["needs_url"] else "-"))
        verdict = badge(row["verdict"], row["verdict"] or "not checked")
        rows.append([esc(row["ref"]), esc(row["kind"]), esc(row["source"]), url_cell, verdict,
                     _quotes(row["quotes"]), _when(first["captured_at"]) if first else "-",
                     _when(latest["captured_at"]) if latest else "-", " ".join(links)])
        attrs.append(f"data-verdict='{esc(row['verdict'] or 'none')}' data-ref='{esc(row['ref'])}'")
    form = (f"<form class='filters' method='get'><label>verdict<select name='verdict' data-filter='verdict'>"
            f"<option value=''>all</option>{options}</select></label><button>Filter</button></form>")
    exports = " ".join(a(f"/reports/{name}/export.{fmt}", fmt.upper()) for fmt in ("wacz", "warc", "csv",
                                                                                    "json"))
    body = (f"<p>Export the evidence: {exports} · "
            + a("/search" + qs(report=name), "search this report's sources") + "</p>" + form
            + table(["ref", "kind", "source", "URL", "verdict", "quotes", "first capture", "last capture",
                     ""], rows, cls="dashboard", row_attrs=attrs))
    return layout(f"Citations of {name}", body, json_href=f"/reports/{name}.json", wide=True)


def timeline(data: dict[str, Any]) -> str:
    """Captures and checks of a URL on a time axis, then as a table."""
    url = data["url"]
    if not url:
        return layout("Timeline", "<form method='get'><input name='url' size='60' placeholder='https://...'>"
                      "<button>Show</button></form>")
    times = [c["captured_at"] for c in data["captures"]] + [c["checked_at"] for c in data["checks"]]
    moments = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times]
    start, end = min(moments), max(moments)
    span = (end - start).total_seconds() or 1.0

    def at(iso: str) -> str:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        return position_classes(2 + 96 * (moment - start).total_seconds() / span)

    marks = []
    for cap in data["captures"]:
        cls = f"dot {capture_class(cap['outcome'], cap['http_status'])}"
        cls += " change" if cap["text_changed"] else ""
        target = _web(cap, url) if cap["outcome"] == "captured" else f"/snapshot/{cap['id']}"
        cls += " browser" if cap.get("mode") == "browser" else ""
        title = (f"{cap['captured_at']} {cap['outcome']} {cap['http_status'] or ''} "
                 f"{cap.get('mode') or 'http'}")
        marks.append(f"<a class='{cls} {at(cap['captured_at'])}' href='{esc(target)}' title='{esc(title)}'>"
                     "</a>")
    for chk in data["checks"]:
        marks.append(f"<span class='check {VERDICT_CLASSES.get(chk['status'], 'muted')} "
                     f"{at(chk['checked_at'])}' title='{esc(chk['checked_at'])} {esc(chk['status'])}'>"
                     "</span>")
    axis = (f"<div class='axis'>{''.join(marks)}<span class='end start'>{_when(min(times))}"
            f"</span><span class='end stop'>{_when(max(times))}</span></div>")
    rows = []
    for cap in data["captures"]:
        changes = ", ".join(n for n, flag in (("text changed", cap["text_changed"]),
                                              ("payload changed", cap["payload_changed"])) if flag)
        link = a(_web(cap, url), "view") if cap["outcome"] == "captured" else ""
        rows.append([_when(cap["captured_at"]), f"capture ({esc(cap.get('mode') or 'http')})",
                     capture_badge(cap["outcome"], cap["http_status"], cap["reason"]),
                     esc(changes), f"<span class='hash'>{esc((cap['sha256'] or '')[:12])}</span>",
                     a(f"/snapshot/{cap['id']}", "details") + " " + link])
    for chk in data["checks"]:
        sim = "" if chk["similarity"] is None else f"similarity {chk['similarity']:.3f}"
        diff_link = (a("/diff" + qs(a=chk["baseline_id"], b=chk["capture_id"], report=chk["report"]), "diff")
                     if chk["baseline_id"] and chk["capture_id"] else "")
        if chk.get("probe_id"):  # the soft-404 probe is in no list: reached from its check
            diff_link += " " + a(f"/snapshot/{chk['probe_id']}", "probe", cls="probe")
        rows.append([_when(chk["checked_at"]), "check", badge(chk["status"]), esc(sim), "", diff_link])
    rows.sort(key=lambda r: r[0])
    timemaps = (a(f"/timemap/link/{url}", "TimeMap (link-format)") + " · "
                + a(f"/timemap/json/{url}", "TimeMap (JSON)"))
    body = (f"<p class='url'>{esc(url)} · {timemaps}</p>{axis}"
            + table(["time", "event", "result", "changes", "sha256", ""], rows))
    return layout("Timeline", body, json_href="/timeline.json" + qs(url=url))


def snapshot(data: dict[str, Any]) -> str:
    """A capture's details, text and sandboxed replay."""
    cap = data["capture"]
    fields = ["url", "final_url", "captured_at", "outcome", "reason", "http_status", "content_type",
              "content_length", "sha256", "text_sha256", "title", "published", "extraction", "warc_file",
              "warc_offset", "warc_length", "revisit_of"]
    meta = table(["field", "value"], [[esc(f), f"<span class='hash'>{esc(cap.get(f))}</span>"]
                                       for f in fields])
    records = table(["type", "file", "offset", "length", "record id"],
                    [[esc(r.get("type")), esc(r.get("file")), esc(r.get("offset")), esc(r.get("length")),
                      f"<span class='hash'>{esc(r.get('id'))}</span>"] for r in data["records"]])
    links = [a(f"/snapshot/{cap['id']}.warc.gz", "WARC records"),
             a("/timeline" + qs(url=cap["url"]), "timeline")]
    replay = ""
    if cap["outcome"] == "captured":
        links[:0] = [a(_web(cap), "replay"), a(f"/web/{cap['timestamp']}dl_/{cap['url']}",
                                               "raw download")]
        replay = (f"<h2>Replay</h2><iframe class='replay inline' src='/web/{esc(cap['timestamp'])}if_/"
                  f"{esc(cap['url'])}' sandbox='allow-top-navigation-by-user-activation' "
                  "referrerpolicy='no-referrer' title='archived page'></iframe>")
    if data.get("screenshot"):  # a browser capture's screenshot, beside the replay
        replay = (f"<div class='beside'>{replay}<figure class='screenshot'><h2>Screenshot</h2>"
                  f"<img id='screenshot' src='{esc(data['screenshot'])}' alt='screenshot of the page as "
                  "the browser rendered it'></figure></div>")
    if cap.get("page_id"):
        links.append(a(f"/snapshot/{cap['page_id']}", f"loaded for page {cap['page_id']}"))
    text = data["text"]
    text_html = (f"<pre class='text'>{esc(text.get('text'))}</pre>" if text
                 else f"<p class='muted'>{esc(data['text_error'])}</p>")
    body = (f"<p>{' · '.join(links)}</p>{meta}<h2>HTTP headers</h2><pre>{esc(data['headers'] or '-')}</pre>"
            f"<h2>Extracted text</h2>{text_html}{replay}{_requisites(data.get('requisites') or [])}"
            f"<h2>WARC records</h2>{records}")
    return layout(f"Capture {cap['id']} of {cap['url']}", body, json_href=f"/snapshot/{cap['id']}.json")


def _requisites(requisites: list[dict[str, Any]]) -> str:
    """The table of what was loaded for a page (requisites, sub-resources, media), if anything was."""
    if not requisites:
        return ""
    rows = [[a(f"/snapshot/{r['id']}", r["id"]), capture_badge(r["outcome"], r["http_status"], r["reason"]),
             esc(r.get("content_type") or ""),
             esc(r.get("content_length")),
             a(f"/web/{r['timestamp']}id_/{r['url']}", r["url"]) if r["outcome"] == "captured"
             else esc(r["url"])] for r in requisites]
    return (f"<h2>Loaded for this page ({len(requisites)})</h2>"
            + table(["#", "result", "type", "bytes", "URL"], rows, cls="requisites"))


def spans_html(text: str | None, spans: list[list[Any]]) -> str:
    """``text`` escaped, with ``del``/``ins`` spans and ``quote`` spans (as ``<mark>``) marked."""
    if text is None:
        return ""
    kinds: list[set[str]] = [set() for _ in text]
    for start, end, kind in spans:
        for i in range(max(0, start), min(len(text), end)):
            kinds[i].add(kind)
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and kinds[j] == kinds[i]:
            j += 1
        piece = esc(text[i:j])
        for kind in sorted(kinds[i]):
            tag = {"quote": "mark"}.get(kind, kind)
            piece = f"<{tag}>{piece}</{tag}>"
        out.append(piece)
        i = j
    return "".join(out)


def diff(data: dict[str, Any]) -> str:
    """Side-by-side text diff with the cited quotes highlighted."""
    ca, cb = data["a"], data["b"]
    head = [f"{a(_web(c), _when(c['captured_at']))} (capture {a('/snapshot/' + str(c['id']), c['id'])})"
            for c in (ca, cb)]
    rows = [[spans_html(r["left"], r["left_spans"]), spans_html(r["right"], r["right_spans"])]
            for r in data["rows"]]
    attrs = [f"class='{r['op']}'" for r in data["rows"]]
    quotes = "".join(f"<li><mark>{esc(q['text'])}</mark> — earlier: {'found' if q['in_a'] else 'not found'}"
                     f", later: {'found' if q['in_b'] else 'not found'}</li>" for q in data["quotes"])
    summary = ("The main texts are identical." if data["identical"]
               else f"{data['changed_paragraphs']} paragraph(s) differ.")
    body = (f"<p class='url'>{esc(ca['url'])}</p><p>{summary}</p>"
            + (f"<h2>Cited quotes</h2><ul class='quotes'>{quotes}</ul>" if quotes else "")
            + f"<table class='diff'><thead><tr><th>{head[0]}</th><th>{head[1]}</th></tr></thead><tbody>"
            + "".join(f"<tr {attr}><td class='left'>{left}</td><td class='right'>{right}</td></tr>"
                      for attr, (left, right) in zip(attrs, rows, strict=True))
            + "</tbody></table>")
    json_href = "/diff.json" + qs(a=ca["id"], b=cb["id"], report=data["report"])
    return layout("Text diff", body, json_href=json_href, wide=True)


def search(data: dict[str, Any]) -> str:
    """The search form and its hits."""
    def field(name: str, label: str, kind: str = "text") -> str:
        return (f"<label>{esc(label)}<input type='{kind}' name='{name}' value='{esc(data[name])}'></label>")

    form = ("<form class='filters' method='get' action='/search'>" + field("q", "words")
            + field("site", "site") + field("from", "from (date)") + field("to", "to (date)")
            + field("report", "report") + field("feed", "feed") + "<button>Search</button></form>")
    hits = []
    for hit in data["hits"]:
        snippet = esc(hit["snippet"]).replace("[[", "<mark>").replace("]]", "</mark>")
        link = a("/web/" + hit["timestamp"] + "/" + hit["url"], hit["title"] or hit["url"])
        hits.append(f"<div class='hit'><div>{link}"
                    f"</div><div class='url muted'>{esc(hit['url'])} · first captured "
                    f"{_when(hit['captured_at'])} · {a('/timeline' + qs(url=hit['url']), 'timeline')}</div>"
                    f"<p class='snippet'>{snippet}</p></div>")
    more = ""
    params = {k: data[k] for k in ("q", "site", "from", "to", "report", "feed")}
    if data["more"]:
        more = a("/search" + qs(**params, page=data["page"] + 1), "more results →")
    empty = "<p class='muted'>No match.</p>" if data["q"].strip() and not hits else ""
    body = form + empty + "".join(hits) + more
    return layout("Search", body, json_href="/search.json" + qs(**params))
