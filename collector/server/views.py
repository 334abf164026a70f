"""The web interface's pages as data: each handler gathers a JSON-able dict and hands it to a renderer in
``collector.server.pages``. Every page is also JSON (``Accept: application/json`` or a ``.json`` path).

Pages: ``/`` home, ``/reports`` list, ``/reports/{name}`` citation dashboard, ``/timeline?url=``,
``/snapshot/{id}`` (and ``/snapshot/{id}.warc.gz``), ``/diff?a=ID&b=ID``, ``/search?q=``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.check.rules import applicable_rules, ignored_in_pair, list_ignore_rules
from collector.errors import InputError
from collector.inputs import parse_time
from collector.reports.exports import citation_rows
from collector.reports.search import scoped_search
from collector.reports.status import report_health, report_status
from collector.reports.versions import effective_citations
from collector.server import pages
from collector.server.context import MAX_ID, ctx_of, forms_page, int_param, respond
from collector.server.diffing import diff_texts
from storage import queries, retrieve
from storage import timeline as history
from storage.canonical import url_key as key_of
from storage.checks import latest_verdict_changes
from storage.errors import NoCaptureError, StorageError
from storage.feeds import list_feeds
from storage.ledgerseal import capture_seals
from storage.pageresources import SCREENSHOT_PREFIX, concurrent_resource
from storage.queries import captures_by_ids
from storage.records import CaptureRecord
from storage.reports import list_reports
from storage.retrieve import capture_warc
from storage.timefmt import iso_z

__all__ = ["routes"]

_TIMELINE_CHECK = ("id", "checked_at", "status", "similarity", "capture_id", "baseline_id", "probe_id",
                   "report", "ref", "raw_status", "ignored_rules")


def _capture(record: CaptureRecord) -> dict[str, Any]:
    data = record.to_json()
    data["timestamp"] = record.captured_at.strftime("%Y%m%d%H%M%S")
    return data


def _time(value: str | None) -> datetime | None:
    """A time given in a query parameter (ISO-8601 or 14 digits); None when not given."""
    return parse_time(value) if value else None


def _name(request: Request, key: str) -> str:
    value: str = request.path_params[key]
    return value[:-5] if value.endswith(".json") else value


def home(request: Request) -> Response:
    """Counts, latest captures, latest verdict changes."""
    sessions = ctx_of(request).sessions
    changes = [{**c.to_json(), "previous": prev} for c, prev in latest_verdict_changes(sessions, 20)]
    data = {"counts": queries.archive_counts(sessions),
            "latest_captures": [_capture(c) for c in queries.latest_captures(sessions, 20)],
            "verdict_changes": changes}
    return respond(request, data, pages.home)


def reports(request: Request) -> Response:
    """Every report with its latest version and its health (``collector.reports.status.report_health``)."""
    ctx = ctx_of(request)
    data = {"reports": [{"report": v.report, "version": v.version, "title": v.title, "format": v.format,
                         "source": v.source, "citations": v.citation_count,
                         "added_at": iso_z(v.added_at),
                         "health": report_health(report_status(ctx.config, v.report))}
                        for v in list_reports(ctx.sessions)]}
    return forms_page(respond(request, data, pages.reports))


def dashboard(request: Request) -> Response:
    """One row per citation: kind, URL, verdict, quotes, first/last capture, links; ``?verdict=`` filters."""
    ctx = ctx_of(request)
    name = _name(request, "name")
    rows = citation_rows(ctx.config, name, base_url=ctx.base(request))
    wanted = request.query_params.get("verdict") or None
    shown = [r for r in rows if wanted is None or (r["verdict"] or "none") == wanted]
    rules = (list_ignore_rules(ctx.sessions, scope="report", target=name)
             + list_ignore_rules(ctx.sessions, scope="global"))
    data = {"report": name, "verdict_filter": wanted, "citations": shown,
            "verdicts": sorted({r["verdict"] or "none" for r in rows}), "health": report_health(rows),
            "ignore_rules": [r.to_json() for r in sorted(rules, key=lambda r: r.id)]}
    return forms_page(respond(request, data, pages.dashboard))


def timeline(request: Request) -> Response:
    """Every capture and check of a URL on a time axis, with changes marked."""
    url = request.query_params.get("url", "").strip()
    if not url:
        return respond(request, {"url": None, "captures": [], "checks": [], "ignore_rules": []},
                       pages.timeline)
    sessions = ctx_of(request).sessions
    found = history.timeline(sessions, url)
    seals = capture_seals(ctx_of(request).sessions, [c.capture.id for c in found.captures])
    captures = [{**_capture(c.capture), "text_changed": c.text_changed, "payload_changed": c.payload_changed,
                 "ledger": seals[c.capture.id].to_json()} for c in found.captures]
    checks = [{k: data[k] for k in _TIMELINE_CHECK} for data in (c.to_json() for c in found.checks)]
    rules = {r.id: r for r in applicable_rules(sessions, url)}  # global and the URL's
    for name in sorted({c["report"] for c in checks if c["report"]}):  # and its reports'
        rules.update((r.id, r) for r in list_ignore_rules(sessions, scope="report", target=name))
    return respond(request, {"url": url, "captures": captures, "checks": checks,
                             "ignore_rules": [rules[i].to_json() for i in sorted(rules)]}, pages.timeline)


def _one(request: Request, raw: str | int, what: str = "capture id") -> CaptureRecord:
    """The capture whose id is ``raw``: 400 for what is not a number, 404 for a number no capture has
    (however many digits it has)."""
    text = str(raw)
    if text.isdigit() and not 0 < int(text) <= MAX_ID:
        raise NoCaptureError(f"no capture with id {text}")
    capture_id = int_param(raw, what)
    try:
        return captures_by_ids(ctx_of(request).sessions, [capture_id])[0]
    except KeyError:
        raise NoCaptureError(f"no capture with id {capture_id}") from None


def snapshot(request: Request) -> Response:
    """A capture's metadata, headers, WARC location, extracted text and sandboxed replay."""
    ctx = ctx_of(request)
    capture = _one(request, _name(request, "id"))
    data: dict[str, Any] = {"capture": _capture(capture), "records": capture.records,
                            "headers": None, "text": None, "text_error": None,
                            "ledger": capture_seals(ctx.sessions, [capture.id])[capture.id].to_json()}
    if capture.warc_file is not None:
        try:
            data["headers"] = retrieve.capture_headers(ctx.warc_dir, capture).decode("iso-8859-1")
        except StorageError:
            data["headers"] = None
    try:
        data["text"] = retrieve.capture_text(ctx.warc_dir, capture)
    except StorageError as exc:
        data["text_error"] = str(exc)
    # what was loaded for this page (its requisites, browser sub-resources, media) and its screenshot
    data["requisites"] = [_capture(r) for r in queries.page_requisites(ctx.sessions, capture.id)]
    shot = concurrent_resource(ctx.warc_dir, capture, SCREENSHOT_PREFIX)
    data["screenshot"] = f"/snapshot/{capture.id}/screenshot.png" if shot is not None else None
    return respond(request, data, pages.snapshot)


def screenshot(request: Request) -> Response:
    """The screenshot taken with a browser capture (its ``urn:screenshot:`` resource record)."""
    capture = _one(request, request.path_params["id"])
    shot = concurrent_resource(ctx_of(request).warc_dir, capture, SCREENSHOT_PREFIX)
    if shot is None:
        raise NoCaptureError(f"capture {capture.id} has no screenshot (only browser captures have one)")
    return Response(shot.payload, headers={
        "Content-Type": shot.headers.get("Content-Type", "image/png").split(";")[0],
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Archive-Record-Id": shot.headers.get("WARC-Record-ID", "")})


def snapshot_warc(request: Request) -> Response:
    """The capture's WARC records as a ``.warc.gz`` download."""
    capture = _one(request, request.path_params["id"])
    body = capture_warc(ctx_of(request).warc_dir, capture)
    return Response(body, media_type="application/warc", headers={
        "Content-Disposition": f'attachment; filename="capture-{capture.id}.warc.gz"'})


def _quotes_for(request: Request, url_key: str) -> list[str]:
    quotes = list(request.query_params.getlist("quote"))
    name = request.query_params.get("report")
    if name:
        for cite in effective_citations(ctx_of(request), name):
            if any(key_of(u) == url_key for u in cite.urls):
                quotes += cite.quotes
    return list(dict.fromkeys(q for q in quotes if q.strip()))


def diff(request: Request) -> Response:
    """Side-by-side main-text diff of two captures (``a``/``b`` ids, or ``url`` with ``from``/``to``)."""
    ctx = ctx_of(request)
    params = request.query_params
    if params.get("a") and params.get("b"):
        old = _one(request, params["a"], "capture id a")
        new = _one(request, params["b"], "capture id b")
    elif params.get("url"):
        old, new = history.capture_pair(ctx.sessions, params["url"], since=_time(params.get("from")),
                                        until=_time(params.get("to")))
    else:
        raise InputError("give two capture ids (?a=ID&b=ID) or a URL (?url=URL&from=TIME&to=TIME)")
    try:
        texts = history.text_pair(ctx.warc_dir, old, new)
    except StorageError as exc:  # a capture without text: nothing to diff
        raise NoCaptureError(str(exc)) from exc
    quotes = _quotes_for(request, old.url_key)
    ignored = ignored_in_pair(applicable_rules(ctx.sessions, old.url, params.get("report") or None),
                              texts.old_text, texts.new_text, warc_dir=ctx.warc_dir, old=old, new=new,
                              max_bytes=ctx.config.extract_max_bytes)
    data = {"a": _capture(old), "b": _capture(new), "report": params.get("report"),
            **diff_texts(texts.old_text, texts.new_text, quotes,
                         ignored_a=[(s.start, s.end) for s in ignored.old_spans] if ignored else None,
                         ignored_b=[(s.start, s.end) for s in ignored.new_spans] if ignored else None),
            **(ignored.to_json() if ignored else {"ignored": []})}
    return respond(request, data, pages.diff)


PAGE_SIZE = 20
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def search(request: Request) -> Response:
    """Full-text search with filters: site, from/to dates, report, feed; the hit count and pages."""
    params = request.query_params
    sessions = ctx_of(request).sessions
    data: dict[str, Any] = {"q": params.get("q", ""), "site": params.get("site", ""),
                            "from": params.get("from", ""), "to": params.get("to", ""),
                            "report": params.get("report", ""), "feed": params.get("feed", ""),
                            "page": int_param(params.get("page"), "page number", default=1),
                            "hits": [], "more": False, "total": None, "pages": 0,
                            "page_size": PAGE_SIZE,
                            "reports": [v.report for v in list_reports(sessions)],
                            "feeds": [f.name for f in list_feeds(sessions, counts=False)]}
    if data["q"].strip():
        data.update(_search(request, data))
    return respond(request, data, pages.search)


def _until(value: str) -> datetime | None:
    """The end of a ``to`` bound: a bare date (a date picker's value) includes its whole day."""
    if _DAY.fullmatch(value.strip()):
        return parse_time(value) + timedelta(days=1, microseconds=-1)
    return _time(value)


def _search(request: Request, form: dict[str, Any]) -> dict[str, Any]:
    page = max(1, form["page"])
    results = scoped_search(ctx_of(request), form["q"], site=form["site"] or None,
                            since=_time(form["from"]), until=_until(form["to"]),
                            report=form["report"] or None, feed=form["feed"] or None,
                            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, count=True)
    hits = []
    for hit in results.hits:
        data = hit.to_json()
        data["timestamp"] = hit.captured_at.strftime("%Y%m%d%H%M%S")
        hits.append(data)
    total = results.total or 0
    return {"hits": hits, "more": results.more, "page": page, "total": total,
            "pages": -(-total // PAGE_SIZE)}


def routes() -> list[Route]:
    """The interface's routes."""
    return [
        Route("/", home), Route("/index.json", home),
        Route("/reports", reports), Route("/reports.json", reports),
        Route("/reports/{name}", dashboard),
        Route("/timeline", timeline), Route("/timeline.json", timeline),
        Route("/snapshot/{id:int}.warc.gz", snapshot_warc),
        Route("/snapshot/{id:int}/screenshot.png", screenshot),
        Route("/snapshot/{id}", snapshot),
        Route("/diff", diff), Route("/diff.json", diff),
        Route("/search", search), Route("/search.json", search),
    ]
