"""What every request handler shares: the server's context and how a page answers (HTML or JSON)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from collector.config import Config
from collector.errors import InputError
from collector.server.html import VIEWER

__all__ = ["MAX_ID", "ServerContext", "ctx_of", "forms_page", "int_param", "origin_of", "respond",
           "wants_json"]


@dataclass(frozen=True, kw_only=True)
class ServerContext:
    """What every request handler needs: configuration, the database, and how the server is reached."""

    config: Config
    sessions: sessionmaker[Session]
    base_url: str | None = None  # fixed public base URL (behind a proxy); else taken from the request
    replay_origin: str | None = None  # a separate origin for archived content, when configured
    read_only: bool = False  # refuse every write endpoint, even with a token

    @property
    def inline_reads(self) -> bool:
        """True when the hot Memento lookups may run on the event loop (SQLite)."""
        return self.sessions.kw["bind"].dialect.name == "sqlite"

    @property
    def warc_dir(self) -> Path:
        """The archive's WARC directory."""
        return self.config.warc_dir

    def base(self, request: Request) -> str:
        """Public base URL of the interface (no trailing slash)."""
        return (self.base_url or str(request.base_url)).rstrip("/")

    def replay(self, request: Request) -> str:
        """Origin that serves archived content (the interface's own unless configured)."""
        return (self.replay_origin or self.base(request)).rstrip("/")


def ctx_of(request: Request) -> ServerContext:
    """The ServerContext of the running app."""
    ctx: ServerContext = request.app.state.ctx
    return ctx


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def wants_json(request: Request) -> bool:
    """True for ``.json`` paths and for ``Accept: application/json`` without HTML."""
    if request.url.path.endswith(".json") or request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def respond(request: Request, data: dict[str, Any], render: Callable[[dict[str, Any]], str],
            status: int = 200) -> Response:
    """The page as HTML (``render`` also gets ``data["viewer"]``, who is logged in, or None, which the
    header shows), or its data as JSON when asked for."""
    if wants_json(request):
        return JSONResponse(data, status_code=status)
    find_viewer = getattr(request.app.state, "viewer_of", None)  # set by create_app (sessions)
    viewer = find_viewer(request) if find_viewer is not None else None
    token = VIEWER.set(viewer)  # the header's "Log in" / "Log out" (collector.server.html.layout)
    try:
        response = HTMLResponse(render({**data, "viewer": viewer}), status_code=status)
    finally:
        VIEWER.reset(token)
    return response if viewer is None else forms_page(response)  # its header has the logout form


def forms_page(response: Response) -> Response:
    """An HTML page with write forms gets ``Referrer-Policy: same-origin`` (not the default
    ``no-referrer``): under ``no-referrer`` the browser sends ``Origin: null`` with the forms it posts,
    and the server's same-origin check (``collector.server.sessions``) must see this origin."""
    if response.media_type == "text/html":
        response.headers["referrer-policy"] = "same-origin"
    return response


MAX_ID = 2**63 - 1  # the largest id any supported database stores


def int_param(raw: str | int | None, what: str, *, default: int | None = None) -> int:
    """A positive integer from a path or query parameter; InputError (a 400) naming ``what`` otherwise."""
    if raw is None or raw == "":
        if default is None:
            raise InputError(f"{what} is missing")
        return default
    text = str(raw)
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise InputError(f"{raw!r} is not a valid {what} (a positive whole number)")
    return int(text)
