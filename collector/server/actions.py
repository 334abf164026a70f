"""The interface's write forms and their JSON API twins.

Forms (a session from ``/login`` and the form's CSRF token, ``collector.server.sessions.writer_form``;
each answers 303 to the page that shows the result):

- ``POST /reports``: add a report (``document`` file or ``url``; ``name``; optional ``manifest`` file)
- ``POST /reports/{name}/links``: attach ``url``/``quote``/``note`` to ``ref``
- ``POST /reports/{name}/manifest``: import a manifest CSV (``manifest`` file)
- ``POST /reports/{name}/check`` and ``/capture`` (``ref`` optional): start a job; 303 to ``/jobs/{id}``
- ``POST /schedules``; ``POST /schedules/{id}/pause``, ``/resume``, ``/remove``
- ``POST /feeds``; ``POST /feeds/{name}/pause``, ``/resume``, ``/remove``; ``POST /webhooks``

Pages: ``GET /jobs/{id}`` (a job's results as they arrive), ``GET /schedules`` (schedules, feeds,
webhooks). JSON API (bearer token, ``collector.server.api.require_token``): ``POST /api/reports/upload``,
``POST /api/reports/{name}/manifest``, ``POST /api/reports/{name}/check`` and ``/capture`` (202 and the
job), ``GET /api/jobs/{id}``, ``GET``/``POST /api/feeds``, ``POST /api/feeds/{name}/pause`` and
``/resume``, ``DELETE /api/feeds/{name}``,
``GET``/``POST /api/webhooks``; schedules are in ``collector.server.schedules``, links and URL reports
in ``collector.server.api``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from collector.config import Config
from collector.errors import InputError
from collector.monitor.notify import EVENTS
from collector.monitor.scheduler import (
    add_schedule,
    list_schedules,
    pause_schedule,
    remove_schedule,
    resume_schedule,
)
from collector.server import operations as ops
from collector.server import pages_actions
from collector.server.api import json_body, require_token
from collector.server.context import ctx_of, wants_json
from collector.server.forms import Upload
from collector.server.jobs import read_job, start_job
from collector.server.schedules import parse_every, schedule_id, schedule_options
from collector.server.sessions import viewer_of, writer_form, writer_upload
from storage.reports import list_reports

__all__ = ["routes"]


def _see(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f'"{key}" must be a string')
    return value


# -- forms ---------------------------------------------------------------------------------------------
async def form_add_report(request: Request) -> Response:
    """Add a report from an uploaded file or a URL."""
    _, form = await writer_upload(request)
    summary = await run_in_threadpool(lambda: ops.add_report_now(
        ctx_of(request).config, url=form.fields.get("url"), document=form.files.get("document"),
        name=form.fields.get("name"), manifest=form.files.get("manifest")))
    return _see(f"/reports/{summary['report']}")


async def form_link(request: Request) -> Response:
    """Attach a URL and a quote (or a note) to a reference."""
    viewer, form = await writer_form(request)
    name = request.path_params["name"]
    await run_in_threadpool(lambda: ops.link_now(
        ctx_of(request).config, name, ref=form.get("ref"), url=form.get("url"), quote=form.get("quote"),
        note=form.get("note"), source=f"web {viewer.name}"))
    return _see(f"/reports/{name}")


async def form_manifest(request: Request) -> Response:
    """Import a manifest CSV into a report."""
    _, form = await writer_upload(request)
    manifest = form.files.get("manifest")
    if manifest is None:
        raise InputError("choose a manifest CSV file")
    name = request.path_params["name"]
    await run_in_threadpool(ops.import_manifest_now, ctx_of(request).config, name, manifest)
    return _see(f"/reports/{name}")


async def form_job(request: Request) -> Response:
    """"Check now" / "capture now" of a report or one reference: start the job, show its page."""
    viewer, form = await writer_form(request)
    kind = request.path_params["kind"]
    job = await run_in_threadpool(lambda: start_job(ctx_of(request).config, kind, request.path_params["name"],
                                                    ref=form.get("ref"), by=viewer.name))
    return _see(f"/jobs/{job['id']}")


def _form_schedule(form: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"action": form.get("action") or "capture"}
    for key in ("report", "feed"):
        if form.get(key):
            body[key] = form[key]
    if form.get("urls", "").strip():
        body["urls"] = form["urls"].split()
    if form.get("cron", "").strip():
        body["cron"] = form["cron"].strip()
    elif form.get("every", "").strip():
        body["every"] = form["every"].strip()
    return schedule_options(body)


async def form_add_schedule(request: Request) -> Response:
    """Add a schedule of a report or of URLs."""
    _, form = await writer_form(request)
    options = _form_schedule(form)
    await run_in_threadpool(lambda: add_schedule(ctx_of(request).config, **options))
    return _see("/schedules")


async def form_schedule_op(request: Request) -> Response:
    """Pause, resume or remove a schedule."""
    await writer_form(request)
    op = {"pause": pause_schedule, "resume": resume_schedule, "remove": remove_schedule}.get(
        request.path_params["op"])
    if op is None:
        raise InputError(f"a schedule can be paused, resumed or removed, not {request.path_params['op']!r}")
    await run_in_threadpool(op, ctx_of(request).config, schedule_id(request))
    return _see("/schedules")


async def form_add_feed(request: Request) -> Response:
    """Watch a feed."""
    _, form = await writer_form(request)
    await run_in_threadpool(lambda: ops.add_feed_now(ctx_of(request).config, url=form.get("url", ""),
                                                     name=form.get("name"), keywords=form.get("keywords"),
                                                     every=parse_every(form.get("every") or None)))
    return _see("/schedules")


async def form_feed_op(request: Request) -> Response:
    """Pause, resume or stop watching a feed."""
    await writer_form(request)
    await run_in_threadpool(_feed_op, ctx_of(request).config, request.path_params["name"],
                            request.path_params["op"])
    return _see("/schedules")


def _feed_op(config: Config, name: str, op: str) -> dict[str, Any]:
    if op == "remove":
        return ops.remove_feed_now(config, name)
    if op in ("pause", "resume"):
        return ops.pause_feed_now(config, name, op == "pause")
    raise InputError(f"a feed can be paused, resumed or removed, not {op!r}")


async def form_add_webhook(request: Request) -> Response:
    """Register a webhook."""
    _, form = await writer_form(request)
    await run_in_threadpool(lambda: ops.add_webhook_now(ctx_of(request).config, url=form.get("url", ""),
                                                        events=form.get("events", "")))
    return _see("/schedules")


# -- pages ---------------------------------------------------------------------------------------------
def job_page(request: Request) -> Response:
    """A job's state and results (JSON with ``Accept: application/json``)."""
    job = read_job(ctx_of(request).config, request.path_params["id"])
    if wants_json(request):
        return JSONResponse(job)
    return pages_actions.html_page(pages_actions.job({**job, "viewer": viewer_of(request)}))


def manage_page(request: Request) -> Response:
    """Schedules, feeds and webhooks, with their forms."""
    config = ctx_of(request).config
    data = {"schedules": [i.to_json() for i in list_schedules(config)], "feeds": ops.feeds_json(config),
            "webhooks": ops.webhooks_json(config),
            "reports": [v.report for v in list_reports(ctx_of(request).sessions)],
            "default_events": ",".join(e for e in EVENTS if e != "new-match")}
    if wants_json(request):
        return JSONResponse(data)
    return pages_actions.html_page(pages_actions.manage({**data, "viewer": viewer_of(request)}))


# -- JSON API ------------------------------------------------------------------------------------------
def _upload(body: dict[str, Any], key: str, filename: str | None) -> Upload | None:
    """A file given in JSON as base64 (``content_base64``) or as text (``manifest``)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f'"{key}" must be a string')
    if key.endswith("base64"):
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f'"{key}" is not base64') from exc
    else:
        data = value.encode("utf-8")
    return Upload(filename or "manifest.csv", data)


async def api_upload_report(request: Request) -> Response:
    """Add a report sent as ``{"filename", "content_base64", "name"?, "manifest"?: CSV text}``."""
    await run_in_threadpool(require_token, request)
    body = await json_body(request)
    filename = _text(body, "filename")
    document = _upload(body, "content_base64", filename)
    if document is None or not filename:
        raise InputError('give {"filename": "report.html", "content_base64": "..."}')
    summary = await run_in_threadpool(lambda: ops.add_report_now(
        ctx_of(request).config, url=None, document=document, name=_text(body, "name"),
        manifest=_upload(body, "manifest", "manifest.csv")))
    return JSONResponse(summary, status_code=201)


async def api_manifest(request: Request) -> Response:
    """Import a manifest given as CSV text: ``{"manifest": "ref,url\\n6,https://..."}``."""
    await run_in_threadpool(require_token, request)
    manifest = _upload(await json_body(request), "manifest", "manifest.csv")
    if manifest is None:
        raise InputError('give {"manifest": "ref,url,quote,note\\n..."}')
    result = await run_in_threadpool(ops.import_manifest_now, ctx_of(request).config,
                                     request.path_params["name"], manifest)
    return JSONResponse(result, status_code=201)


async def api_job(request: Request) -> Response:
    """Start a check or capture of a report (``{"ref": "6"}`` for one reference): 202 and the job."""
    who = await run_in_threadpool(require_token, request)
    body = await json_body(request) if await request.body() else {}
    ref = _text(body, "ref")
    job = await run_in_threadpool(lambda: start_job(ctx_of(request).config, request.path_params["kind"],
                                                    request.path_params["name"], ref=ref, by=who))
    return JSONResponse(job, status_code=202, headers={"Location": f"/api/jobs/{job['id']}"})


def api_job_status(request: Request) -> Response:
    """A job's state and results so far."""
    return JSONResponse(read_job(ctx_of(request).config, request.path_params["id"]))


def _lister(key: str, list_all: Callable[[Config], list[dict[str, Any]]]) -> Callable[[Request], Any]:
    """A ``GET`` endpoint answering ``{key: list_all(config)}`` (a read: no token)."""
    async def endpoint(request: Request) -> Response:
        return JSONResponse({key: await run_in_threadpool(list_all, ctx_of(request).config)})

    endpoint.__doc__ = f"Every {key[:-1]}."
    return endpoint


async def api_add_feed(request: Request) -> Response:
    """Watch a feed: ``{"url", "name"?, "keywords"?: "a, b", "every"?}``."""
    await run_in_threadpool(require_token, request)
    body = await json_body(request)
    url = _text(body, "url")
    if not url:
        raise InputError('give {"url": "https://.../feed.xml", "name": "...", "keywords": "a, b"}')
    feed = await run_in_threadpool(lambda: ops.add_feed_now(
        ctx_of(request).config, url=url, name=_text(body, "name"), keywords=_text(body, "keywords"),
        every=parse_every(body.get("every"))))
    return JSONResponse(feed, status_code=201)


async def api_feed_op(request: Request) -> Response:
    """``DELETE /api/feeds/{name}``: stop watching it; ``POST /api/feeds/{name}/pause`` or ``/resume``."""
    await run_in_threadpool(require_token, request)
    op = "remove" if request.method == "DELETE" else request.path_params["op"]
    return JSONResponse(await run_in_threadpool(_feed_op, ctx_of(request).config,
                                                request.path_params["name"], op))


async def api_add_webhook(request: Request) -> Response:
    """Add a webhook: ``{"url", "events": "change,gone"}`` (or a list of event names)."""
    await run_in_threadpool(require_token, request)
    body = await json_body(request)
    url, events = _text(body, "url"), body.get("events", "")
    if isinstance(events, list) and all(isinstance(e, str) for e in events):
        events = ",".join(events)
    if not url or not isinstance(events, str):
        raise InputError('give {"url": "https://...", "events": "change,gone"}')
    config = ctx_of(request).config
    hook = await run_in_threadpool(lambda: ops.add_webhook_now(config, url=url, events=events))
    return JSONResponse(hook, status_code=201)


def routes() -> list[Route]:
    """The write forms, the job and schedules pages, and the JSON API of the same actions."""
    return [
        Route("/reports", form_add_report, methods=["POST"]),
        Route("/reports/{name}/links", form_link, methods=["POST"]),
        Route("/reports/{name}/manifest", form_manifest, methods=["POST"]),
        Route("/reports/{name}/{kind:str}", form_job, methods=["POST"]),
        Route("/jobs/{id}", job_page, methods=["GET"]),
        Route("/schedules", manage_page, methods=["GET"]), Route("/schedules.json", manage_page),
        Route("/schedules", form_add_schedule, methods=["POST"]),
        Route("/schedules/{id}/{op}", form_schedule_op, methods=["POST"]),
        Route("/feeds", form_add_feed, methods=["POST"]),
        Route("/feeds/{name:path}/{op:str}", form_feed_op, methods=["POST"]),
        Route("/webhooks", form_add_webhook, methods=["POST"]),
        Route("/api/reports/upload", api_upload_report, methods=["POST"]),
        Route("/api/reports/{name}/manifest", api_manifest, methods=["POST"]),
        Route("/api/reports/{name}/{kind:str}", api_job, methods=["POST"]),
        Route("/api/jobs/{id}", api_job_status, methods=["GET"]),
        Route("/api/feeds", _lister("feeds", ops.feeds_json), methods=["GET"]),
        Route("/api/feeds", api_add_feed, methods=["POST"]),
        Route("/api/feeds/{name:path}/{op:str}", api_feed_op, methods=["POST"]),
        Route("/api/feeds/{name:path}", api_feed_op, methods=["DELETE"]),
        Route("/api/webhooks", _lister("webhooks", ops.webhooks_json), methods=["GET"]),
        Route("/api/webhooks", api_add_webhook, methods=["POST"]),
    ]
