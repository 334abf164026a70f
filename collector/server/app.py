"""The ASGI application of ``collector serve`` (Starlette): routes, shared state, headers, errors.

Every response gets ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``; the
interface's own pages get a CSP that allows only this origin's script and stylesheet. Archived content
sets its own, stricter CSP (``collector.server.rewrite``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.errors import CollectorError, InputError, NotFoundError
from collector.server import (
    actions,
    api,
    archive_routes,
    assets,
    evidence_routes,
    ignore_api,
    schedules,
    sessions,
    views,
)
from collector.server.context import ServerContext, wants_json
from collector.server.html import esc, layout
from storage.errors import (
    ContentDecodeError,
    DuplicateNameError,
    InvalidUrlError,
    SearchQueryError,
    StorageError,
)
from storage.errors import NotFoundError as StoredNotFoundError

__all__ = ["CORS_HEADERS", "MementoCors", "create_app", "ui_csp"]


def ui_csp(replay_origin: str | None) -> str:
    """CSP of the interface's own pages."""
    frames = "'self'" + (f" {replay_origin}" if replay_origin else "")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"frame-src {frames}; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'self'")


class SecurityHeaders:
    """Pure ASGI middleware adding the default security headers a response did not set itself."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("content-security-policy", self.csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)


_CORS_PATHS = ("/web/", "/timegate/", "/timemap/", "/cdx")
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "Link, Memento-Datetime, Location, Content-Location, Vary",
}


class MementoCors:
    """Pure ASGI middleware: Memento and replay responses may be read by any origin's scripts (Memento
    clients in browsers, other archives' tools), with ``Link``, ``Memento-Datetime`` and ``Location``
    exposed; an ``OPTIONS`` preflight on those paths is answered 204 (``Accept-Datetime`` allowed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(_CORS_PATHS):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            response = Response(status_code=204, headers={
                **CORS_HEADERS, "access-control-allow-methods": "GET, HEAD, OPTIONS",
                "access-control-allow-headers": "Accept-Datetime, Accept, Range, Prefer",
                "access-control-max-age": "86400", "allow": "GET, HEAD, OPTIONS"})
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in CORS_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request) or request.url.path.startswith(("/api/", "/timemap/", "/timegate/", "/cdx")):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return HTMLResponse(layout(title, f"<p class='error'>{esc(message)}</p>"), status_code=status)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, "Not in the archive", str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, "Bad request", str(exc))


async def _storage_error(request: Request, exc: Exception) -> Response:
    return _error(request, 500, "Archive error", str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (401, 403):
        if request.url.path.startswith("/api/") or wants_json(request):
            return JSONResponse({"error": exc.detail, "status": exc.status_code},
                                status_code=exc.status_code, headers=exc.headers)
        login = " <a href='/login'>Log in</a>." if exc.status_code == 401 else ""
        return HTMLResponse(layout("Refused", f"<p class='error' role='alert'>{esc(exc.detail)}</p>"
                                   f"<p>{login}</p>"), status_code=exc.status_code, headers=exc.headers)
    response = _error(request, exc.status_code, str(exc.detail), str(exc.detail))
    response.headers.update(exc.headers or {})  # e.g. Allow on a 405
    return response


def create_app(ctx: ServerContext) -> Starlette:
    """The application serving ``ctx``'s archive (see docs/serve.md for the routes)."""
    routes: list[Route] = [*archive_routes.routes(), *views.routes(), *api.routes(), *schedules.routes(),
                           *sessions.routes(), *actions.routes(), *assets.routes(), *evidence_routes.routes(),
                           *ignore_api.routes()]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        ctx.sessions.kw["bind"].dispose()

    app = Starlette(
        routes=routes, lifespan=lifespan,
        # collector's own errors only: a builtin error reaching here is a bug, answered 500 with a
        # logged traceback by Starlette's ServerErrorMiddleware, never dressed up as a polite 400/404
        exception_handlers={StoredNotFoundError: _not_found, NotFoundError: _not_found,
                            SearchQueryError: _bad_request, DuplicateNameError: _bad_request,
                            ContentDecodeError: _bad_request, InputError: _bad_request,
                            InvalidUrlError: _bad_request,
                            CollectorError: _storage_error, StorageError: _storage_error,
                            HTTPException: _http_error},
    )
    app.state.ctx = ctx
    app.state.signer = sessions.SessionSigner.from_config(ctx.config)
    app.state.viewer_of = sessions.viewer_of  # pages show who is logged in (context.respond)
    app.add_middleware(SecurityHeaders, csp=ui_csp(ctx.replay_origin))
    app.add_middleware(MementoCors)
    return app
