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
    seal_badge,
    table,
    url_html,
)
from collector.server.pages_actions import (
    add_report_form,
    dashboard_forms,
    health_figures,
    ignore_rules_panel,
    row_buttons,
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
             health_figures(r["health"], compact=True), esc(r["format"]), _when(r["added_at"])]
            for r in data["reports"]]
    body = (table(["report", "title", "version", "health", "format", "added"], rows, cls="reports") if rows
            else "<p class='muted'>No reports yet: add one below or with "
                 "<code>collector report add FILE</code>.</p>")
    return layout("Reports", body + add_report_form(data.get("viewer")), json_href="/reports.json")


def _quotes(quotes: list[dict[str, Any]]) -> str:
    marks = {True: ("ok", "found"), False: ("bad", "not found"), None: ("muted", "not checked")}
    return " ".join(f"<span class='badge {marks[q['archived']][0]}' title='{esc(q['text'])}'>"
                    f"{marks[q['archived']][1]}</span>" for q in quotes) or "-"


def _source(source: str | None, entry: str | None) -> str:
    """A citation's source: when its notes entry says more than the one-line source (cut at about 100
    characters), a ``details`` whose summary is the source and whose body is the whole entry."""
    source, entry = source or "", entry or ""
    if len(entry) <= len(source.removesuffix("...")) or entry == source:
        return esc(source)
    return (f"<details class='source'><summary>{esc(source)}</summary>"
            f"<span class='rest'>{esc(entry)}</span></details>")


def dashboard(data: dict[str, Any]) -> str:
    """The citation dashboard of one report."""
    name = data["report"]
    viewer = data.get("viewer")
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
        url_cell = (f"<span class='url'>{url_html(url)}</span>" if url
                    else ("<b>needs a URL</b>" if row["needs_url"] else "-"))
        verdict = badge(row["verdict"], row["verdict"] or "not checked")
        buttons = row_buttons(name, row["ref"], viewer) if url else ""
        rows.append([esc(row["ref"]), esc(row["kind"]), _source(row["source"], row.get("entry")), url_cell,
                     verdict,
                     _quotes(row["quotes"]), _when(first["captured_at"]) if first else "-",
                     _when(latest["captured_at"]) if latest else "-", seal_badge(row.get("sealed")),
                     " ".join(links) + buttons])
        attrs.append(f"data-verdict='{esc(row['verdict'] or 'none')}' data-ref='{esc(row['ref'])}'")
    form = (f"<form class='filters' method='get'><label>verdict<select name='verdict' data-filter='verdict'>"
            f"<option value=''>all</option>{options}</select></label><button>Filter</button></form>")
    exports = " ".join(a(f"/reports/{name}/export.{fmt}", fmt.upper()) for fmt in ("wacz", "warc", "csv",
                                                                                    "json"))
    body = (health_figures(data["health"])
            + dashboard_forms(name, [r["ref"] for r in data["citations"]], viewer)
            + f"<p>Export the evidence: {exports} · "
            + a("/search" + qs(report=name), "search this report's sources") + "</p>" + form
            + table(["ref", "kind", "source", "URL", "verdict", "quotes", "first capture", "last capture",
                     "sealed", ""], rows, cls="dashboard", row_attrs=attrs)
            + ignore_rules_panel(data["ignore_rules"], viewer, here=f"/reports/{name}", target=name,
                                 scopes=[("report", "this report"), ("global", "global (every check)")]))
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
                     seal_badge(cap.get("ledger")), a(f"/snapshot/{cap['id']}", "details") + " " + link])
    for chk in data["checks"]:
        sim = "" if chk["similarity"] is None else f"similarity {chk['similarity']:.3f}"
        diff_link = (a("/diff" + qs(a=chk["baseline_id"], b=chk["capture_id"], report=chk["report"]), "diff")
                     if chk["baseline_id"] and chk["capture_id"] else "")
        if chk.get("probe_id"):  # the soft-404 probe is in no list: reached from its check
            diff_link += " " + a(f"/snapshot/{chk['probe_id']}", "probe", cls="probe")
        if chk.get("ignored_rules"):  # the verdict on the filtered texts: say what the raw texts gave
            sim += (f" · before ignore rules {', '.join(map(str, chk['ignored_rules']))}: "
                    f"{chk['raw_status']}")
        rows.append([_when(chk["checked_at"]), "check", badge(chk["status"]), esc(sim), "", "",
                     diff_link])
    rows.sort(key=lambda r: r[0])
    timemaps = (a(f"/timemap/link/{url}", "TimeMap (link-format)") + " · "
                + a(f"/timemap/json/{url}", "TimeMap (JSON)"))
    reports = sorted({c["report"] for c in data["checks"] if c["report"]})
    scopes = ([("url", "this URL")] + [(f"report:{r}", f"report {r}") for r in reports]
              + [("global", "global (every check)")])
    body = (f"<p class='url'>{esc(url)} · {timemaps}</p>{axis}"
            + table(["time", "event", "result", "changes", "sha256", "sealed", ""], rows)
            + ignore_rules_panel(data["ignore_rules"], data.get("viewer"), here="/timeline" + qs(url=url),
                                 target=url, scopes=scopes))
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
             a(f"/evidence/{cap['id']}.wacz", "signed evidence package"),
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
    body = (f"<p>{' · '.join(links)}</p>{_seal_line(data.get('ledger'))}{meta}"
            f"<h2>HTTP headers</h2><pre>{esc(data['headers'] or '-')}</pre>"
            f"<h2>Extracted text</h2>{text_html}{replay}{_requisites(data.get('requisites') or [])}"
            f"<h2>WARC records</h2>{records}")
    return layout(f"Capture {cap['id']} of {cap['url']}", body, json_href=f"/snapshot/{cap['id']}.json")


_TAGS = {"quote": "<mark>", "del": "<del>", "ins": "<ins>",
         "ignored": "<s class='ignored' title='left out of the comparison by an ignore rule'>"}
_OUTER = ("quote", "ignored")  # one element per stretch (one outlined box per quote), around the changes


def _wrap(kind: str, piece: str) -> str:
    opening = _TAGS.get(kind, f"<{kind}>")
    return f"{opening}{piece}</{opening[1:].split(' ')[0].rstrip('>')}>"


def _marked(text: str, kinds: list[set[str]], start: int, end: int, level: int = 0) -> str:
    """``text[start:end]`` escaped: each stretch of an outer kind (quote, then ignored) in one element,
    and within it each run of the same inner kinds (``del``, ``ins``) in its tags."""
    out, i = [], start
    if level < len(_OUTER):
        kind = _OUTER[level]
        while i < end:
            j = i
            while j < end and (kind in kinds[j]) == (kind in kinds[i]):
                j += 1
            piece = _marked(text, kinds, i, j, level + 1)
            out.append(_wrap(kind, piece) if kind in kinds[i] else piece)
            i = j
        return "".join(out)
    while i < end:
        j = i
        while j < end and kinds[j] - set(_OUTER) == kinds[i] - set(_OUTER):
            j += 1
        piece = esc(text[i:j])
        for inner in sorted(kinds[i] - set(_OUTER)):
            piece = _wrap(inner, piece)
        out.append(piece)
        i = j
    return "".join(out)


def _seal_line(seal: dict[str, Any] | None) -> str:
    """The snapshot page's ledger line: which signed checkpoint covers the capture, and when."""
    if seal is None:
        return ""
    if seal["sealed"]:
        said = (f"covered by signed checkpoint {esc(seal['checkpoint'])} of {_when(seal['sealed_at'])} "
                f"(ledger entry {esc(seal['seq'])}; <code>collector ledger verify</code> checks it)")
    elif seal["seq"] is None:
        said = "this capture has no ledger entry (it was recorded with the ledger off)"
    else:
        said = (f"ledger entry {esc(seal['seq'])}; no signed checkpoint covers it yet (the next one "
                "comes at the end of a run, or from <code>collector run</code> within the hour)")
    return f"<p class='ledger'>Ledger: {seal_badge(seal)} {said}</p>"


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
    """``text`` escaped, with ``del``/``ins`` spans marked, and each stretch of a quote (``<mark>``) or of
    ignored text (``<s class='ignored'>``) as one element around them: one outlined box per quote, however
    many changes it holds."""
    if text is None:
        return ""
    kinds: list[set[str]] = [set() for _ in text]
    for start, end, kind in spans:
        for i in range(max(0, start), min(len(text), end)):
            kinds[i].add(kind)
    return _marked(text, kinds, 0, len(text))


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
    body = (f"<p class='url'>{esc(ca['url'])}</p><p>{summary}</p>" + _ignored_rules(data)
            + (f"<h2>Cited quotes</h2><ul class='quotes'>{quotes}</ul>" if quotes else "")
            + f"<table class='diff'><thead><tr><th>{head[0]}</th><th>{head[1]}</th></tr></thead><tbody>"
            + "".join(f"<tr {attr}><td class='left'>{left}</td><td class='right'>{right}</td></tr>"
                      for attr, (left, right) in zip(attrs, rows, strict=True))
            + "</tbody></table>")
    json_href = "/diff.json" + qs(a=ca["id"], b=cb["id"], report=data["report"])
    return layout("Text diff", body, json_href=json_href, wide=True)


def _ignored_rules(data: dict[str, Any]) -> str:
    """What the ignore rules left out of the comparison (struck through in the diff), and the result."""
    rules = data.get("ignored") or []
    if not rules:
        return ""
    after = ("identical" if data["filtered_identical"]
             else f"still different (similarity {data['filtered_similarity']:.3f})")
    items = "".join(f"<li>rule {esc(r['id'])} ({esc(r['kind'])} <code>{esc(r['pattern'])}</code>): "
                    + ", ".join(f"<s class='ignored'>{esc(t)}</s>" for t in r["removed"]) + "</li>"
                    for r in rules)
    return (f"<div class='ignored-rules'><p>Without what the ignore rules leave out, the texts are "
            f"<b>{after}</b>. The raw diff is shown below, the ignored text struck through.</p>"
            f"<ul>{items}</ul></div>")


def _choice(name: str, label: str, options: list[str], chosen: str) -> str:
    items = "".join(f"<option value='{esc(o)}'{' selected' if o == chosen else ''}>{esc(o)}</option>"
                    for o in options)
    extra = (f"<option value='{esc(chosen)}' selected>{esc(chosen)}</option>"
             if chosen and chosen not in options else "")
    return (f"<label>{esc(label)}<select name='{name}'><option value=''>all</option>{items}{extra}</select>"
            "</label>")


def _pager(data: dict[str, Any], params: dict[str, Any]) -> str:
    """Previous/next and the page numbers around the current one."""
    page, pages = data["page"], data["pages"]
    if pages <= 1:
        return ""
    links = []
    if page > 1:
        links.append(a("/search" + qs(**params, page=page - 1), "← previous", rel="prev"))
    previous = 0
    for n in sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)}):
        if n - previous > 1:
            links.append("<span class='gap'>…</span>")
        previous = n
        links.append(f"<span class='current' aria-current='page'>{n}</span>" if n == page
                     else a("/search" + qs(**params, page=n), n))
    if page < pages:
        links.append(a("/search" + qs(**params, page=page + 1), "next →", rel="next"))
    return f"<nav class='pager' aria-label='result pages'>{' '.join(links)}</nav>"


def search(data: dict[str, Any]) -> str:
    """The search form (date pickers, report and feed choices) and its hits, counted and paged."""
    def field(name: str, label: str, kind: str = "text") -> str:
        return (f"<label>{esc(label)}<input type='{kind}' name='{name}' value='{esc(data[name])}'></label>")

    form = ("<form class='filters' method='get' action='/search'>" + field("q", "words")
            + field("site", "site") + field("from", "from", "date") + field("to", "to", "date")
            + _choice("report", "report", data.get("reports") or [], data["report"])
            + _choice("feed", "feed", data.get("feeds") or [], data["feed"])
            + "<button>Search</button></form>")
    hits = []
    for hit in data["hits"]:
        snippet = esc(hit["snippet"]).replace("[[", "<mark>").replace("]]", "</mark>")
        link = a("/web/" + hit["timestamp"] + "/" + hit["url"], hit["title"] or hit["url"])
        hits.append(f"<div class='hit'><div>{link}"
                    f"</div><div class='url muted'>{url_html(hit['url'])} · first captured "
                    f"{_when(hit['captured_at'])} · {a('/timeline' + qs(url=hit['url']), 'timeline')}</div>"
                    f"<p class='snippet'>{snippet}</p></div>")
    params = {k: data[k] for k in ("q", "site", "from", "to", "report", "feed")}
    count = ""
    if data["q"].strip() and data.get("total"):
        first = (data["page"] - 1) * data.get("page_size", 20) + 1
        count = (f"<p class='count'><b>{data['total']}</b> result{'s' if data['total'] != 1 else ''}"
                 + (f" · {first}–{first + len(hits) - 1} shown · page {data['page']} of {data['pages']}"
                    if data["pages"] > 1 else "") + "</p>")
    empty = "<p class='muted'>No match.</p>" if data["q"].strip() and not hits else ""
    body = form + count + empty + "".join(hits) + _pager(data, params)
    return layout("Search", body, json_href="/search.json" + qs(**params))
