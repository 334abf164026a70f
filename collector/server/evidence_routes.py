"""Evidence packages over HTTP: ``GET /evidence/{capture_id}.wacz`` (one capture, its requisites and
its revisit's original) and ``GET /reports/{name}/evidence.wacz`` (every capture a report cites), the
signed WACZ of ``collector evidence`` (collector.evidence.package). Without an archive key: 503, saying
so."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from collector.errors import ConfigError
from collector.evidence.package import write_evidence
from collector.server.context import ServerContext, ctx_of
from storage.reports import versions_of

__all__ = ["routes"]

MEDIA_TYPE = "application/wacz"


def _package(ctx: ServerContext, filename: str, **what: object) -> Response:
    tmp = tempfile.NamedTemporaryFile(prefix="collector-evidence-", suffix=".wacz", delete=False)  # noqa: SIM115
    try:
        with tmp:
            write_evidence(ctx.config, tmp, **what)  # type: ignore[arg-type]
    except ConfigError as exc:  # no archive key: the server is not set up to sign, nothing is broken
        Path(tmp.name).unlink(missing_ok=True)
        raise HTTPException(503, str(exc)) from exc
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise
    return FileResponse(tmp.name, media_type=MEDIA_TYPE, filename=filename,
                        background=BackgroundTask(Path(tmp.name).unlink, missing_ok=True))


def capture_evidence(request: Request) -> Response:
    """The signed evidence package of one capture."""
    capture_id = int(request.path_params["id"])
    return _package(ctx_of(request), f"capture-{capture_id}-evidence.wacz", capture_id=capture_id)


def report_evidence(request: Request) -> Response:
    """The signed evidence package of a report's cited sources."""
    ctx = ctx_of(request)
    name = request.path_params["name"]
    versions_of(ctx.sessions, name)  # 404 for an unknown report, before any work
    return _package(ctx, f"{name}-evidence.wacz", report=name, base_url=ctx.base(request))


def routes() -> list[Route]:
    """The evidence package routes."""
    return [Route("/evidence/{id:int}.wacz", capture_evidence),
            Route("/reports/{name}/evidence.wacz", report_evidence)]
