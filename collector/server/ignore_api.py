"""Ignore rules over HTTP (``collector ignore`` as an API), through ``collector.check.rules``.

- ``GET /api/ignore-rules``: every rule (a read: no token); ``?scope=url&target=URL`` (or ``report``,
  ``global``) narrows it.
- ``POST /api/ignore-rules`` ``{"scope": "url"|"report"|"global", "target": URL|NAME, "kind":
  "css"|"xpath"|"regex", "pattern": ..., "note": ...}``: 201 and the rule, as ``ignore add --json``
  prints it; an invalid pattern or an unknown report is 400/404 with a message naming it.
- ``DELETE /api/ignore-rules/{id}``: ``{"id": ID, "removed": true}``; 404 for an unknown id.

Writes need a bearer token (``collector.server.api.require_token``).

The interface's forms (a session and the form's CSRF token, ``collector.server.sessions.writer_form``;
the same validation as the API; 303 back to ``next``, the page the form is on):

- ``POST /ignore-rules``: ``scope`` (``url``, ``report``, ``global``, or ``report:NAME``), ``target``
  (the URL or report name of a ``url`` or ``report`` scope), ``kind``, ``pattern``, ``note``, ``next``.
- ``POST /ignore-rules/{id}/remove``: ``next``.

The forms are on a source's timeline and a report's dashboard
(``collector.server.pages_actions.ignore_rules_panel``).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from collector.check.rules import add_ignore_rule, list_ignore_rules, remove_ignore_rule, rule_scope
from collector.errors import InputError
from collector.server.api import json_body, require_token
from collector.server.context import ctx_of, int_param
from collector.server.html import qs
from collector.server.sessions import safe_next, writer_form

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


def _back(form: dict[str, str], scope: str, target: str | None) -> Response:
    """303 to the form's ``next`` page (a local path), else to the page of the rule's scope."""
    fallback = {"url": "/timeline" + qs(url=target), "report": f"/reports/{target}"}.get(scope, "/reports")
    nxt = form.get("next")
    return RedirectResponse(safe_next(nxt) if nxt else fallback, status_code=303)


async def form_add(request: Request) -> Response:
    """The interface's "Add ignore rule" form."""
    _, form = await writer_form(request)
    scope, _, named = (form.get("scope") or "").partition(":")
    body = {"scope": scope, "target": named or form.get("target") or None, "kind": form.get("kind"),
            "pattern": form.get("pattern"), "note": (form.get("note") or "").strip() or None}
    fields = _rule_fields(body)
    await run_in_threadpool(lambda: add_ignore_rule(ctx_of(request).sessions, **fields))
    return _back(form, fields["scope"], fields["target"])


async def form_remove(request: Request) -> Response:
    """An ignore rule's "remove" button."""
    _, form = await writer_form(request)
    rule_id = int_param(request.path_params["id"], "ignore rule id")
    await run_in_threadpool(remove_ignore_rule, ctx_of(request).sessions, rule_id)
    return _back(form, "global", None)


def routes() -> list[Route]:
    """The ignore-rule routes: the JSON API and the interface's forms."""
    return [
        Route("/ignore-rules", form_add, methods=["POST"]),
        Route("/ignore-rules/{id}/remove", form_remove, methods=["POST"]),
        Route("/api/ignore-rules", list_all, methods=["GET"]),
        Route("/api/ignore-rules", add, methods=["POST"]),
        Route("/api/ignore-rules/{id}", remove, methods=["DELETE"]),
    ]
