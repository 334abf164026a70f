"""Schedules over HTTP (issue 5's ``collector schedule`` as an API), through ``collector.monitor.scheduler``.

- ``GET /api/schedules``: every schedule with its next run (a read: no token).
- ``POST /api/schedules`` ``{"urls": [...]} | {"report": NAME} | {"feed": NAME}`` with ``"every"``
  (seconds, or a duration such as ``"6h"``) or ``"cron"``, optional ``"action"`` (``capture`` or
  ``check``), ``"adaptive"`` and ``"profile"`` (a login profile of the home, as ``schedule add
  --profile``): 201 and the schedule, as ``schedule add --json`` prints it.
- ``PATCH /api/schedules/{id}`` with any of ``"every"`` or ``"cron"``, ``"action"``, ``"adaptive"``,
  ``"profile"`` (a name, or null to drop it), as ``schedule edit``: the schedule afterwards.
- ``POST /api/schedules/{id}/pause`` and ``/resume``: the schedule afterwards.
- ``DELETE /api/schedules/{id}``: ``{"id": ID, "removed": true}``.

Writes need a bearer token (``collector.server.api.require_token``); an unknown id is 404, a bad body
(an unknown profile included) 400.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.config import Config
from collector.errors import InputError, NotFoundError
from collector.inputs import parse_duration
from collector.monitor.scheduler import (
    add_schedule,
    edit_schedule,
    list_schedules,
    pause_schedule,
    remove_schedule,
    resume_schedule,
)
from collector.profiles.store import profile_path
from collector.server.api import json_body, require_token
from collector.server.context import ctx_of

__all__ = ["parse_every", "routes", "schedule_id", "schedule_options"]

_FIELDS = {"urls", "report", "feed", "every", "cron", "action", "adaptive", "profile"}
_EDIT_FIELDS = {"every", "cron", "action", "adaptive", "profile"}


def parse_every(value: Any) -> float | None:
    """``every`` of a request body: seconds (a number) or a duration string like the CLI's (``"6h"``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f'"every" must be seconds or a duration such as "6h", not {value!r}')
    try:
        return parse_duration(value)
    except InputError as exc:
        raise InputError(f'"every": {exc}') from exc


def _fields(body: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The trigger, action, adaptiveness and profile of ``body`` (None where not given), each checked;
    InputError names an unknown field or a bad value."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)} (use {', '.join(sorted(allowed))})")
    for name in ("report", "feed", "cron", "profile"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InputError(f'"{name}" must be a string')
    action = body.get("action")
    if action is not None and not isinstance(action, str):
        raise InputError('"action" must be "capture" or "check"')
    adaptive = body.get("adaptive")
    if adaptive is not None and not isinstance(adaptive, bool):
        raise InputError('"adaptive" must be true or false')
    return {"every": parse_every(body.get("every")), "cron": body.get("cron"), "action": action,
            "adaptive": adaptive, "profile": body.get("profile")}


def schedule_options(body: dict[str, Any]) -> dict[str, Any]:
    """``add_schedule``'s options from a request body (or a form made into one); InputError names a bad
    field."""
    options = _fields(body, _FIELDS)
    urls = body.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InputError('"urls" must be a list of URLs')
    return {**options, "urls": urls, "report": body.get("report"), "feed": body.get("feed"),
            "action": options["action"] or "capture", "adaptive": bool(options["adaptive"])}


def edit_options(body: dict[str, Any]) -> dict[str, Any]:
    """``edit_schedule``'s options from a request body: the fields given (``"profile": null`` drops the
    profile); InputError names a bad field."""
    options = _fields(body, _EDIT_FIELDS)
    return {**options, "clear_profile": "profile" in body and body["profile"] is None}


def check_profile(config: Config, name: str | None) -> None:
    """Refuse a login profile the home does not have as a bad request (InputError naming it), not as
    a missing page."""
    if name is None:
        return
    try:
        profile_path(config, name)
    except NotFoundError as exc:
        raise InputError(str(exc)) from exc


def schedule_id(request: Request) -> int:
    """The ``{id}`` of the path as a schedule id (400 when it is not a number)."""
    raw = request.path_params["id"]
    if not raw.isdigit():
        raise InputError(f"{raw!r} is not a schedule id (see GET /api/schedules)")
    return int(raw)


async def list_all(request: Request) -> Response:
    """Every schedule with its next run time."""
    found = await run_in_threadpool(list_schedules, ctx_of(request).config)
    return JSONResponse({"schedules": [info.to_json() for info in found]})


async def add(request: Request) -> Response:
    """Add a schedule of URLs, a report's citations or a feed."""
    await run_in_threadpool(require_token, request)
    options = schedule_options(await json_body(request))
    config = ctx_of(request).config
    check_profile(config, options["profile"])
    info = await run_in_threadpool(lambda: add_schedule(config, **options))
    return JSONResponse(info.to_json(), status_code=201)


async def edit(request: Request) -> Response:
    """Change a schedule's trigger, action, adaptiveness or login profile."""
    await run_in_threadpool(require_token, request)
    sid = schedule_id(request)
    options = edit_options(await json_body(request))
    config = ctx_of(request).config
    check_profile(config, options["profile"])
    info = await run_in_threadpool(lambda: edit_schedule(config, sid, **options))
    return JSONResponse(info.to_json())


async def pause(request: Request) -> Response:
    """Pause a schedule (no run until it is resumed)."""
    await run_in_threadpool(require_token, request)
    info = await run_in_threadpool(pause_schedule, ctx_of(request).config, schedule_id(request))
    return JSONResponse(info.to_json())


async def resume(request: Request) -> Response:
    """Resume a paused schedule from its next slot."""
    await run_in_threadpool(require_token, request)
    info = await run_in_threadpool(resume_schedule, ctx_of(request).config, schedule_id(request))
    return JSONResponse(info.to_json())


async def remove(request: Request) -> Response:
    """Remove a schedule and its job (its past runs stay)."""
    await run_in_threadpool(require_token, request)
    record = await run_in_threadpool(remove_schedule, ctx_of(request).config, schedule_id(request))
    return JSONResponse({"id": record.id, "removed": True})


def routes() -> list[Route]:
    """The schedule routes."""
    return [
        Route("/api/schedules", list_all, methods=["GET"]),
        Route("/api/schedules", add, methods=["POST"]),
        Route("/api/schedules/{id}/pause", pause, methods=["POST"]),
        Route("/api/schedules/{id}/resume", resume, methods=["POST"]),
        Route("/api/schedules/{id}", edit, methods=["PATCH"]),
        Route("/api/schedules/{id}", remove, methods=["DELETE"]),
    ]
