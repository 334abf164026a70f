"""Ignore rules over HTTP (``collector ignore`` as an API), through ``collector.check.rules``.

- ``GET /api/ignore-rules``: every rule (a read: no token); ``?scope=url&target=URL`` (or ``report``,
  ``global``) narrows it.
- ``POST /api/ignore-rules`` ``{"scope": "url"|"report"|"global", "target": URL|NAME, "kind":
  "css"|"xpath"|"regex", "pattern": ..., "note": ...}``: 201 and the rule, as ``ignore add --json``
  prints it; an invalid pattern or an unknown report is 400/404 with a message naming it.
- ``DELETE /api/ignore-rules/{id}``: ``{"id": ID, "removed": true}``; 404 for an unknown id.

Writes need a bearer token (``collector.server.api.require_token``).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.check.rules import add_ignore_rule, list_ignore_rules, remove_ignore_rule, rule_scope
from collector.errors import InputError
from collector.server.api import json_body, require_token
from collector.server.context import ctx_of, int_param

__all__ = ["routes"]

_FIELDS = {"scope", "target", "kind", "pattern", "note"}


def _rule_fields(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)} (use {', '.join(sorted(_FIELDS))})")
    for name in _FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InputError(f'"{name}" must be a string')
    scope = body.get("scope")
    if scope not in ("url", "report", "global"):
        raise InputError('"scope" must be "url", "report" or "global"')
    target = body.get("target")
    scope, target = rule_scope(report=target if scope == "report" else None,
                               url=target if scope == "url" else None, everywhere=scope == "global")
    return {"scope": scope, "target": target, "kind": body.get("kind") or "",
            "pattern": body.get("pattern") or "", "note": body.get("note")}


async def list_all(request: Request) -> Response:
    """Every rule, or one scope's."""
    params = request.query_params
    scope = params.get("scope") or None
    found = await run_in_threadpool(list_ignore_rules, ctx_of(request).sessions, scope=scope,
                                    target=params.get("target") or None)
    return JSONResponse({"rules": [rule.to_json() for rule in found]})


async def add(request: Request) -> Response:
    """Add a rule."""
    await run_in_threadpool(require_token, request)
    fields = _rule_fields(await json_body(request))
    rule = await run_in_threadpool(lambda: add_ignore_rule(ctx_of(request).sessions, **fields))
    return JSONResponse(rule.to_json(), status_code=201)


async def remove(request: Request) -> Response:
    """Remove a rule (checks already made keep the ids that applied)."""
    await run_in_threadpool(require_token, request)
    rule_id = int_param(request.path_params["id"], "ignore rule id")
    await run_in_threadpool(remove_ignore_rule, ctx_of(request).sessions, rule_id)
    return JSONResponse({"id": rule_id, "removed": True})


def routes() -> list[Route]:
    """The ignore-rule routes."""
    return [
        Route("/api/ignore-rules", list_all, methods=["GET"]),
        Route("/api/ignore-rules", add, methods=["POST"]),
        Route("/api/ignore-rules/{id}", remove, methods=["DELETE"]),
    ]
