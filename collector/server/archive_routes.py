"""Memento endpoints (RFC 7089) and safe replay.

- ``/timegate/{url}``: datetime negotiation with ``Accept-Datetime``; 302 to the selected memento.
- ``/timemap/link/{url}``, ``/timemap/json/{url}``, ``/timemap/cdxj/{url}``: every memento of the URL.
- ``/cdx?url=...``: the CDX server API (matchType, from, to, limit, output=json).
- ``/web/{timestamp}/{url}``: the memento (14 digits, or 20 for a later capture in the same second), with
  the archived status; a redirect hop answers its archived redirect with Location pointing into the
  archive. HTML is shown inside a sandboxed frame under a banner
  (URL, capture time, sha256, timeline and live links), a PDF embedded under the same banner; other
  types are served as archived. A timestamp
  that names no capture exactly redirects to the closest one.
- ``/web/{ts}if_/{url}``: the rewritten, inert HTML the frame shows.
- ``/web/{ts}id_/{url}``: the payload byte for byte, with its original Content-Type (and Content-Encoding;
  a PDF with a CSP that lets the archive's pages embed it, ``rewrite.pdf_csp``);
  ``dl_`` instead of ``id_`` adds ``Content-Disposition: attachment``.

URLs are looked up by canonical key, so every spelling of a URL finds the same captures. Only captures
with outcome ``captured`` are mementos (failed attempts are in the timeline, not in the TimeMap).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from collector.errors import InputError
from collector.server import memento
from collector.server.context import ctx_of, int_param, origin_of
from collector.server.html import a, esc, layout, qs, stamp
from collector.server.rewrite import decode_html, framed_csp, pdf_csp, raw_csp, rewrite_css, rewrite_html
from storage.errors import NoCaptureError
from storage.payloadstream import http_headers_at, payload_chunks
from storage.queries import MATCH_TYPES, MementoRef, captures_by_ids, cdx_mementos, mementos
from storage.records import CaptureRecord
from storage.retrieve import archived_response, content_charset, decode_prefix, header_value
from storage.warcread import read_record_at

__all__ = ["mementos_of", "routes", "target_url"]

_SPEC = re.compile(r"^(\d{1,20})(id_|if_|dl_|im_|cs_|js_|mp_)?$")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CDX_LIMIT = 10_000  # the most lines one CDX request answers
_STREAM_ABOVE = 1024 * 1024  # payloads larger than this are streamed from the WARC, not read whole
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):/+")


def target_url(request: Request, prefix_parts: int) -> str:
    """The archived URL in the request path after ``prefix_parts`` path segments (as sent, with the
    query string); ``http:/x`` (slashes merged by a proxy) and scheme-less URLs are repaired."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("utf-8", "replace")
    rest = path.lstrip("/").split("/", prefix_parts)[-1] if path.count("/") > prefix_parts else ""
    if re.match(r"^https?%3A", rest, re.I):
        rest = unquote(rest)
    if request.url.query:
        rest += "?" + request.url.query
    if not rest:
        raise InputError("give the URL after the path, e.g. /timegate/https://example.org/")
    match = _SCHEME.match(rest)
    if match:
        return f"{match.group(1).lower()}://{rest[match.end():]}"
    return "https://" + rest


def mementos_of(request: Request, url: str) -> list[MementoRef]:
    """Every capture of ``url`` that is a memento (outcome captured), oldest first."""
    return mementos(ctx_of(request).sessions, url)


def _record(request: Request, ref: MementoRef) -> CaptureRecord:
    return captures_by_ids(ctx_of(request).sessions, [ref.id])[0]


def _urls(request: Request) -> memento.ArchiveUrls:
    return memento.ArchiveUrls(ctx_of(request).base(request))


async def _hot(request: Request, handler: Callable[[Request], Response]) -> Response:
    """Run a Memento lookup: inline on the event loop for SQLite (a local index read of about a
    millisecond, and WAL readers never wait for writers: this nearly triples throughput), in the thread
    pool for a networked database whose latency must not stall other requests."""
    if ctx_of(request).inline_reads:
        return handler(request)
    return await run_in_threadpool(handler, request)


async def timegate(request: Request) -> Response:
    """TimeGate (see ``_timegate``)."""
    return await _hot(request, _timegate)


async def timemap(request: Request) -> Response:
    """TimeMap (see ``_timemap``)."""
    return await _hot(request, _timemap)


def _timegate(request: Request) -> Response:
    """TimeGate: 302 to the memento closest to ``Accept-Datetime`` (the latest without it)."""
    url = target_url(request, 1)
    header = request.headers.get("accept-datetime")
    at = memento.parse_http_date(header) if header is not None else None
    found = mementos_of(request, url)
    if not found:
        raise NoCaptureError(f"no memento of {url} in the archive")
    index = memento.select_index(found, at)
    urls = _urls(request)
    stamp = memento.uri_stamps(found)[index]
    headers = {"Vary": "accept-datetime", "Location": urls.memento(stamp, url),
               "Link": memento.link_header(urls, url, found, index, timegate=False)}
    return Response(status_code=302, headers=headers)


def _timemap(request: Request) -> Response:
    """TimeMap in link-format or JSON."""
    fmt = request.path_params["fmt"]
    if fmt not in ("link", "json", "cdxj"):
        return Response(f"unknown TimeMap format {fmt!r} (use link, json or cdxj)\n", status_code=400,
                        media_type="text/plain")
    url = target_url(request, 2)
    found = mementos_of(request, url)
    if not found:
        return Response(status_code=404)
    urls = _urls(request)
    if fmt == "json":
        return JSONResponse(memento.timemap_json(urls, url, found))
    if fmt == "cdxj":
        return Response(memento.timemap_cdxj(found), headers={"Content-Type": "text/x-cdxj"})
    return Response(memento.timemap_link(urls, url, found), media_type="application/link-format")


def web(request: Request) -> Response:
    """A memento: exact timestamp or a redirect to the closest capture; wrapper, framed or raw."""
    spec = request.path_params["spec"]
    match = _SPEC.match(spec)
    if not match:
        raise InputError(f"{spec!r} is not an archive timestamp (YYYYMMDDhhmmss, optionally with id_ or "
                         "if_)")
    digits, modifier = match.group(1), match.group(2) or ""
    # cs_: a stylesheet, whose url()s and @imports are pointed into the archive (others: raw)
    modifier = {"im_": "id_", "js_": "id_", "mp_": ""}.get(modifier, modifier)
    url = target_url(request, 2)
    found = mementos_of(request, url)
    if not found:
        return _not_archived(request, url, digits)
    stamps = memento.uri_stamps(found)
    index = memento.find_index(found, stamps, digits)
    urls = _urls(request)
    if index is None:
        closest = memento.select_index(found, memento.parse_timestamp(digits))
        location = urls.memento(stamps[closest], url, modifier)
        return RedirectResponse(location, status_code=302, headers={
            "Link": memento.link_header(urls, url, found, None)})
    ref = found[index]
    headers = {"Memento-Datetime": memento.http_date(ref.captured_at),
               "Link": memento.link_header(urls, url, found, index)}
    if ref.is_redirect:
        return _redirect(request, ref, headers, modifier)
    capture = _record(request, ref)
    kind = (capture.content_type or "").split(";")[0].strip().lower()
    if kind == "application/pdf" and not modifier:  # the banner above the embedded PDF
        return HTMLResponse(_wrapper(request, capture, url, found, index, stamps[index], pdf=True),
                            headers=headers, status_code=capture.http_status or 200)
    if modifier == "cs_" and _is_css(capture):
        return _stylesheet(request, capture, url, headers)
    if modifier in ("id_", "dl_", "cs_") or kind not in _HTML_TYPES:
        return _raw(request, capture, headers, download=modifier == "dl_")
    if modifier == "if_":
        return _framed(request, capture, url, headers)
    # the archived status, as on the framed and raw forms: a dead page is not answered as alive
    return HTMLResponse(_wrapper(request, capture, url, found, index, stamps[index]), headers=headers,
                        status_code=capture.http_status or 200)


def _redirect(request: Request, ref: MementoRef, headers: dict[str, str], modifier: str) -> Response:
    """A redirect hop as archived (its status, headers and body) with ``Location`` pointing at the
    archive's memento of its target, the next memento of the chain."""
    ctx = ctx_of(request)
    if ref.warc_file is None or ref.warc_offset is None or ref.target_url is None:
        raise NoCaptureError(f"the redirect of {ref.url} has no archived response")
    record = read_record_at(ctx.warc_dir, ref.warc_file, ref.warc_offset)
    stamp = memento.ts20(ref.target_at) if ref.target_at else "2"
    targets = mementos_of(request, ref.target_url)
    same = [i for i, t in enumerate(targets) if t.captured_at == ref.target_at and t.id == ref.id]
    if same:
        stamp = memento.uri_stamps(targets)[same[0]]
    kept = {"Content-Type": header_value(record.http_headers, "Content-Type")
            or "application/octet-stream"}
    if header_value(record.http_headers, "Content-Encoding"):
        kept["Content-Encoding"] = header_value(record.http_headers, "Content-Encoding") or ""
    mod = modifier if modifier in ("id_", "dl_", "if_", "cs_") else ""
    headers = {**headers, **kept, "Location": _urls(request).memento(stamp, ref.target_url, mod),
               "Content-Security-Policy": raw_csp(ctx.replay(request))}
    return Response(record.payload, status_code=ref.http_status or 302, headers=headers)


def _streamed(capture: CaptureRecord) -> bool:
    """True for a payload large enough to be streamed from its WARC record rather than read whole."""
    return (capture.content_length or 0) > _STREAM_ABOVE


def _raw(request: Request, capture: CaptureRecord, headers: dict[str, str], *, download: bool = False
         ) -> Response:
    ctx = ctx_of(request)
    pdf = not download and (capture.content_type or "").split(";")[0].strip().lower() == "application/pdf"
    csp = pdf_csp(ctx.replay(request), origin_of(ctx.base(request))) if pdf else raw_csp(ctx.replay(request))
    headers = {**headers, "Content-Security-Policy": csp, "X-Archive-Sha256": capture.sha256 or ""}
    if _streamed(capture):
        # bounded memory: checked against its sha256 in a first streamed pass, then sent chunk by chunk
        size, chunks = payload_chunks(ctx.warc_dir, capture)
        encoding = header_value(_own_headers(ctx.warc_dir, capture), "Content-Encoding")
        body: Iterator[bytes] | bytes = chunks
        if size is not None:
            headers["Content-Length"] = str(size)
    else:
        response = archived_response(ctx.warc_dir, capture)
        encoding, body = response.content_encoding, response.payload
    if encoding:
        headers["Content-Encoding"] = encoding
    if download:
        name = (capture.final_url or capture.url).rstrip("/").rsplit("/", 1)[-1] or "payload"
        headers["Content-Disposition"] = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'
    # set as a header, not media_type: Starlette would append a charset to text/* types
    headers["Content-Type"] = capture.content_type or "application/octet-stream"
    if isinstance(body, bytes):
        return Response(body, status_code=capture.http_status or 200, headers=headers)
    return StreamingResponse(body, status_code=capture.http_status or 200, headers=headers)


def _is_css(capture: CaptureRecord) -> bool:
    return (capture.content_type or "").split(";")[0].strip().lower() == "text/css"


def _stylesheet(request: Request, capture: CaptureRecord, url: str, headers: dict[str, str]) -> Response:
    """An archived stylesheet loaded by a replayed page: its url()s point at the archive's copies (of
    the time nearest this stylesheet's), its @imports at their stylesheets; inert as any raw payload."""
    ctx = ctx_of(request)
    archived = archived_response(ctx.warc_dir, capture)
    body, _problem = decode_prefix(archived.payload, archived.content_encoding,
                                   ctx.config.replay_max_html_bytes)
    try:
        text = body.decode(content_charset(capture.content_type) or "utf-8", "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    replay, stamp14 = ctx.replay(request), memento.ts14(capture.captured_at)

    def mapper(target: str, kind: str) -> str:
        return f"{replay}/web/{stamp14}{'cs_' if kind == 'style' else 'id_'}/{target}"

    css = rewrite_css(text, capture.final_url or url, mapper)
    headers = {**headers, "Content-Security-Policy": raw_csp(replay),
               "X-Archive-Sha256": capture.sha256 or "", "Content-Type": "text/css; charset=utf-8"}
    return Response(css.encode("utf-8"), status_code=capture.http_status or 200, headers=headers)


def _own_headers(warc_dir: Path, capture: CaptureRecord) -> list[tuple[str, str]]:
    """The HTTP headers of the capture's own response or revisit record, without reading its payload."""
    if capture.warc_file is None or capture.warc_offset is None:
        raise NoCaptureError(f"capture {capture.id} has no WARC record")
    return http_headers_at(warc_dir, capture.warc_file, capture.warc_offset)


def _framed(request: Request, capture: CaptureRecord, url: str, headers: dict[str, str]) -> Response:
    ctx = ctx_of(request)
    # a damaged or over-large body is shown as far as it decodes (at most replay_max_html_bytes, read
    # from the WARC only as far as that needs), never answered with an error
    if _streamed(capture):
        payload: Iterator[bytes] | bytes = payload_chunks(ctx.warc_dir, capture)[1]
        encoding = header_value(_own_headers(ctx.warc_dir, capture), "Content-Encoding")
    else:
        archived = archived_response(ctx.warc_dir, capture)
        payload, encoding = archived.payload, archived.content_encoding
    body, problem = decode_prefix(payload, encoding, ctx.config.replay_max_html_bytes)
    main, replay = ctx.base(request), ctx.replay(request)
    stamp14 = memento.ts14(capture.captured_at)
    notice = None
    if problem:
        notice = (f"This archived page is shown only as far as it could be decoded ({problem}). The "
                  f"full payload as archived is at {replay}/web/{stamp14}dl_/{url}")
    prefixes = {"page": f"{main}/web/{stamp14}/", "embed": f"{replay}/web/{stamp14}id_/",
                "style": f"{replay}/web/{stamp14}cs_/",
                "frame": f"{replay}/web/{stamp14}if_/"}

    def mapper(target: str, kind: str) -> str:
        return prefixes[kind] + target

    html = rewrite_html(decode_html(body, content_charset(capture.content_type)),
                        base=capture.final_url or url, mapper=mapper, notice=notice)
    headers = {**headers, "Content-Security-Policy": framed_csp(replay, origin_of(main))}
    if problem:
        headers["X-Archive-Notice"] = f"partial replay: payload {problem}"
    return Response(html, status_code=capture.http_status or 200, headers=headers,
                    media_type="text/html; charset=utf-8")


def _wrapper(request: Request, capture: CaptureRecord, url: str, found: list[MementoRef],
             index: int, own: str, *, pdf: bool = False) -> str:
    ctx = ctx_of(request)
    urls = _urls(request)
    replay = ctx.replay(request)
    frame = f"{replay}/web/{own}{'id_' if pdf else 'if_'}/{url}"
    raw = f"{replay}/web/{own}dl_/{url}"
    stamps = memento.uri_stamps(found)
    nav = []
    if index > 0:
        nav.append(a(urls.memento(stamps[index - 1], url), "← previous capture"))
    if index < len(found) - 1:
        nav.append(a(urls.memento(stamps[index + 1], url), "next capture →"))
    moved = (f" → <span class='url'>{esc(capture.final_url)}</span>"
             if capture.final_url and capture.final_url != capture.url else "")
    banner = (
        "<div class='banner' id='archive-banner'>"
        f"<div><b>Archived copy</b> of <span class='url'>{esc(capture.url)}</span>{moved}</div>"
        f"<div>captured <time datetime='{esc(capture.to_json()['captured_at'])}'>"
        f"{esc(stamp(capture.captured_at))}</time> · HTTP {esc(capture.http_status)} · "
        f"capture {index + 1} of {len(found)}</div>"
        f"<div>sha256 <span class='hash'>{esc(capture.sha256)}</span></div><div>"
        + a("/timeline" + qs(url=url), "timeline") + a(f"/snapshot/{capture.id}", "details")
        + a(raw, "raw download") + a(url, "live page", target="_blank", rel="noopener noreferrer")
        + " ".join(nav) + "</div></div>"
        + (  # a browser shows no PDF in a sandboxed frame: the PDF's own CSP (pdf_csp) keeps it inert
            f"<iframe class='replay pdf' src='{esc(frame)}' referrerpolicy='no-referrer' "
            "title='archived PDF'></iframe>" if pdf else
            f"<iframe class='replay' src='{esc(frame)}' sandbox='allow-top-navigation-by-user-activation' "
            "referrerpolicy='no-referrer' title='archived page'></iframe>"))
    page = layout(f"{capture.title or url}", banner, wide=True)
    return page.replace("<h1>", "<h1 hidden>", 1)


def _not_archived(request: Request, url: str, digits: str) -> Response:
    data: dict[str, Any] = {"error": f"{url} is not in the archive", "url": url, "timestamp": digits}
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(data, status_code=404)
    body = (f"<p>{esc(url)} was not captured. Links on archived pages lead here when their target was "
            "never archived.</p><p>" + a(url, "Try the live page", rel="noopener noreferrer",
                                        target="_blank") + "</p>")
    return HTMLResponse(layout("Not in the archive", body), status_code=404)


def cdx(request: Request) -> Response:
    """CDX server API (as the Wayback Machine's and pywb's): ``url``, ``matchType`` (exact, prefix,
    host, domain; ``url=example.org/*`` is a prefix and ``*.example.org`` a domain), ``from``/``to``
    (timestamp prefixes, inclusive), ``limit``, ``output=json`` (one JSON object a line, pywb's keys)
    or the default space-separated lines of the CDX fields."""
    params = request.query_params
    url = params.get("url", "").strip()
    if not url:
        raise InputError("give the URL to look up: /cdx?url=example.org/page")
    match_type = params.get("matchType") or params.get("matchtype") or "exact"
    if url.startswith("*."):
        url, match_type = url[2:], "domain"
    elif url.endswith("*"):
        url, match_type = url[:-1], "prefix"
    if match_type not in MATCH_TYPES:
        raise InputError(f"unknown matchType {match_type!r} (use {', '.join(MATCH_TYPES)})")
    start = memento.parse_timestamp(params["from"]) if params.get("from") else None
    end = memento.last_moment(params["to"]) if params.get("to") else None
    limit = int_param(params.get("limit"), "limit", default=_CDX_LIMIT)
    found = cdx_mementos(ctx_of(request).sessions, url, match_type, start=start, end=end,
                         limit=min(limit, _CDX_LIMIT))
    lines = []
    for _, group in itertools.groupby(found, key=lambda m: m.url_key):
        refs = list(group)
        # the URI-M stamps of the TimeMap, which depend on earlier mementos of the key: without a
        # ``from`` the group starts at the key's first memento
        full = mementos_of(request, refs[0].url) if start else refs
        by_moment = {(m.id, m.hop, m.captured_at): stamp
                     for stamp, m in zip(memento.uri_stamps(full), full, strict=True)}
        for ref in refs:
            stamp = by_moment.get((ref.id, ref.hop, ref.captured_at), memento.ts20(ref.captured_at))
            lines.append(memento.cdx_fields(ref, stamp))
    if params.get("output") == "json":
        body = "".join(json.dumps({"urlkey": f["urlkey"], "timestamp": f["timestamp"],
                                   "url": f["original"], "mime": f["mimetype"], "status": f["statuscode"],
                                   "digest": f["digest"], "length": f["length"], "offset": f["offset"],
                                   "filename": f["filename"]}) + "\n" for f in lines)
        return Response(body, media_type="text/x-ndjson")
    text = "".join(" ".join(f[name] for name in memento.CDX_FIELDS) + "\n" for f in lines)
    return Response(text, media_type="text/plain")


def routes() -> list[Route]:
    """The Memento and replay routes."""
    return [
        Route("/cdx", cdx),
        Route("/timegate/{url:path}", timegate),
        Route("/timemap/{fmt}/{url:path}", timemap),
        Route("/web/{spec}/{url:path}", web),
    ]
