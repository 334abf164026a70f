"""Endpoints that change the archive (bearer token required) and report exports (read-only).

Writes: ``POST /api/captures`` ``{"urls": [...]}`` captures URLs now; ``POST /api/reports``
``{"url": ..., "name": ...}`` adds a report published at a URL (never a server-side file);
``POST /api/reports/{name}/links`` ``{"ref", "url", "quote", "note"}`` attaches a URL or quote to a
reference. Each needs ``Authorization: Bearer <token>`` from ``collector token create``: 401 without a
valid token, 403 when the server runs ``--read-only``. Schedule endpoints are in
``collector.server.schedules``.

Exports: ``GET /reports/{name}/export.{warc|wacz|csv|json}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from collector.capture.run import capture_urls
from collector.errors import InputError
from collector.reports.exports import FORMATS, MEDIA_TYPES, SUFFIXES, export_report
from collector.reports.versions import add_report, is_url_source, link_reference
from collector.server.context import ServerContext, ctx_of
from storage.reports import versions_of
from storage.tokens import verify_token

__all__ = ["json_body", "require_token", "routes"]

_MAX_URLS = 100


def require_token(request: Request) -> str:
    """The name of the token that authorizes this write; raises 401/403 otherwise."""
    ctx = ctx_of(request)
    if ctx.read_only:
        raise HTTPException(403, "this server is read-only (started with --read-only)",
                            headers={"X-Read-Only": "true"})
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "a bearer token is required (create one with `collector token create`)",
                            headers={"WWW-Authenticate": 'Bearer realm="collector"'})
    record = verify_token(ctx.sessions, token.strip())
    if record is None:
        raise HTTPException(401, "invalid or revoked token", headers={
            "WWW-Authenticate": 'Bearer realm="collector", error="invalid_token"'})
    return record.name


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; InputError (400) otherwise."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise InputError("the request body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


async def post_captures(request: Request) -> Response:
    """Capture URLs now (with the server's configuration); one result per URL."""
    await run_in_threadpool(require_token, request)
    body = await json_body(request)
    urls = body.get("urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise InputError('give {"urls": ["https://...", ...]}')
    if len(urls) > _MAX_URLS:
        raise InputError(f"at most {_MAX_URLS} URLs per request")
    results = await run_in_threadpool(capture_urls, ctx_of(request).config, urls)
    return JSONResponse({"results": results}, status_code=201)


async def post_report(request: Request) -> Response:
    """Add (a new version of) a report published at a URL."""
    await run_in_threadpool(require_token, request)
    body = await json_body(request)
    url = body.get("url")
    if not isinstance(url, str) or not is_url_source(url):
        raise InputError('give {"url": "https://...", "name": "..."}: only reports at a URL can be added '
                         "over HTTP")
    summary = await run_in_threadpool(lambda: add_report(ctx_of(request).config, url, name=body.get("name")))
    return JSONResponse(summary, status_code=201)


async def post_link(request: Request) -> Response:
    """Attach a URL (and optionally a quote or note) to a reference of a report."""
    await run_in_threadpool(require_token, request)
    body = await json_body(request)
    ref = body.get("ref")
    if not isinstance(ref, str) or not (body.get("url") or body.get("quote") or body.get("note")):
        raise InputError('give {"ref": "4", "url": "https://...", "quote": "...", "note": "..."}')
    name = request.path_params["name"]
    link = await run_in_threadpool(lambda: link_reference(
        ctx_of(request).config, name, ref, body.get("url"), quote=body.get("quote"), note=body.get("note")))
    return JSONResponse({"report": name, "ref": link.ref, "url": link.url, "quote": link.quote,
                         "note": link.note}, status_code=201)


def export(request: Request) -> Response:
    """Download a report's evidence as WARC, WACZ, CSV or JSON."""
    ctx: ServerContext = ctx_of(request)
    name, fmt = request.path_params["name"], request.path_params["fmt"]
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    versions_of(ctx.sessions, name)  # 404 for an unknown report, before any work
    tmp = tempfile.NamedTemporaryFile(prefix="collector-export-", suffix=SUFFIXES[fmt], delete=False)  # noqa: SIM115
    try:
        with tmp:
            export_report(ctx.config, name, fmt, tmp, base_url=ctx.base(request))
    except BaseException:
        _unlink(tmp.name)
        raise
    return FileResponse(tmp.name, media_type=MEDIA_TYPES[fmt], filename=f"{name}{SUFFIXES[fmt]}",
                        background=BackgroundTask(_unlink, tmp.name))


def _unlink(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def routes() -> list[Route]:
    """Write and export routes."""
    return [
        Route("/api/captures", post_captures, methods=["POST"]),
        Route("/api/reports", post_report, methods=["POST"]),
        Route("/api/reports/{name}/links", post_link, methods=["POST"]),
        Route("/reports/{name}/export.{fmt}", export),
    ]
