"""Web sessions of the interface: a login form turns an API token into a signed session cookie, and every
form that writes carries a CSRF token.

- ``POST /login`` with a token from ``collector token create``: the token is checked like a bearer token
  (``storage.tokens.verify_token``) and the answer sets the ``collector_session`` cookie: HttpOnly,
  SameSite=Strict, Secure when the page was served over https, valid ``session_hours``. The cookie holds
  the token's id (never the token), the token's name and a random CSRF token, signed with itsdangerous
  (``URLSafeTimedSerializer``: HMAC-SHA1 over the payload and its time, the same signing Starlette's
  ``SessionMiddleware`` uses underneath; used directly so the Secure flag follows each request's scheme
  and a session is checked against its token on every request: a revoked token ends its sessions).
- The signing key is the ``server_secret`` setting, else ``<home>/server-secret`` (32 random bytes,
  created with mode 0600 on first start; a secret file others can read is refused).
- ``POST /logout`` drops the cookie.
- Every form that writes (``writer_form``, ``writer_upload``): refused 403 on a ``--read-only`` server;
  refused 403 when the request's ``Origin`` (or, without one, ``Referer``) is not this server's origin,
  or names none; refused 401 without a valid session (these three before the body is read: no upload
  is read for nothing); refused 403 when the form's ``csrf`` field is not the session's synchronizer
  token.

The JSON API (``/api/...``) keeps its bearer tokens and never reads the cookie.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from collector.config import Config
from collector.errors import ConfigError
from collector.server import pages_actions
from collector.server.context import ctx_of, origin_of
from collector.server.forms import UploadForm, read_form, read_upload
from storage.tokens import active_token, verify_token

__all__ = ["COOKIE", "CSRF_FIELD", "SessionSigner", "Viewer", "check_csrf", "load_secret", "routes",
           "viewer_of", "writer_form", "writer_of", "writer_upload"]

COOKIE = "collector_session"
CSRF_FIELD = "csrf"
SECRET_FILE = "server-secret"
_SALT = "collector.session"
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Viewer:
    """Who is logged in: the token's id and name, and the session's CSRF token."""

    token_id: int
    name: str
    csrf: str


def load_secret(config: Config) -> str:
    """The key that signs session cookies: ``server_secret``, else ``<home>/server-secret`` (made once,
    mode 0600; a random key for this server's life when the home cannot be written). ConfigError when
    the file can be read by others."""
    if config.server_secret:
        return config.server_secret
    path = config.home / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:  # a read-only home: sessions last as long as this server (its workers share it)
        log.warning("cannot write %s (%s): web sessions end when the server stops "
                    "(set server_secret to keep them)", path, exc.strerror)
        return secrets.token_hex(32)
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} can be read by others (mode {stat.filemode(mode)}): "
                          f"run `chmod 600 {path}` (it signs the web interface's session cookies)")
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:  # another worker is writing it right now, or it was emptied
        raise ConfigError(f"{path} holds no secret: delete it and start again")
    return secret


class SessionSigner:
    """Signs and reads session cookies (``secret`` from ``load_secret``; ``max_age`` in seconds)."""

    def __init__(self, secret: str, max_age: float) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = max_age

    @classmethod
    def from_config(cls, config: Config) -> SessionSigner:
        """The signer of ``config``'s secret and ``session_hours``."""
        return cls(load_secret(config), config.session_hours * 3600)

    def issue(self, token_id: int, name: str) -> str:
        """A new session's cookie value (with a fresh CSRF token)."""
        return self.serializer.dumps({"t": token_id, "n": name, "c": secrets.token_urlsafe(32)})

    def read(self, value: str) -> dict[str, Any] | None:
        """The payload of a cookie this server signed within ``max_age``; None otherwise."""
        try:
            data = self.serializer.loads(value, max_age=int(self.max_age))
        except BadSignature:  # also SignatureExpired
            return None
        ok = isinstance(data, dict) and isinstance(data.get("t"), int) and isinstance(data.get("c"), str)
        return data if ok else None


def signer_of(request: Request) -> SessionSigner:
    """The running app's SessionSigner."""
    signer: SessionSigner = request.app.state.signer
    return signer


def viewer_of(request: Request) -> Viewer | None:
    """The logged-in viewer of this request: a signed, unexpired cookie whose token is still active."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    data = signer_of(request).read(value)
    if data is None:
        return None
    record = active_token(ctx_of(request).sessions, data["t"])
    if record is None:
        return None
    return Viewer(token_id=record.id, name=record.name, csrf=data["c"])


def _same_origin(request: Request) -> bool:
    """True when the request's Origin (else its Referer) is this server's origin."""
    ctx = ctx_of(request)
    ours = {origin_of(str(request.base_url)).lower()}
    if ctx.base_url:
        ours.add(origin_of(ctx.base_url).lower())
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.lower() in ours


def writer_of(request: Request) -> Viewer:
    """The viewer allowed to write, from the request's headers alone (before its body is read): 403 on a
    read-only server or for another origin, 401 without a session."""
    if ctx_of(request).read_only:
        raise HTTPException(403, "this server is read-only (started with --read-only)",
                            headers={"X-Read-Only": "true"})
    if not _same_origin(request):
        raise HTTPException(403, "refused: this form was not posted from this server's own pages "
                                 "(Origin/Referer missing or another site)")
    viewer = viewer_of(request)
    if viewer is None:
        raise HTTPException(401, "log in first (with a token from `collector token create`) at /login")
    return viewer


def check_csrf(viewer: Viewer, form: dict[str, str]) -> None:
    """403 unless the form's ``csrf`` field is the session's synchronizer token."""
    if not hmac.compare_digest(form.get(CSRF_FIELD, ""), viewer.csrf):
        raise HTTPException(403, "refused: the form's CSRF token is missing or stale (reload the page)")


async def writer_form(request: Request) -> tuple[Viewer, dict[str, str]]:
    """A write form's viewer and fields (URL-encoded or multipart text fields), checked in order: the
    headers (``writer_of``, before any body is read), then the CSRF field."""
    viewer = await run_in_threadpool(writer_of, request)
    form = await read_form(request)
    check_csrf(viewer, form)
    return viewer, form


async def writer_upload(request: Request) -> tuple[Viewer, UploadForm]:
    """``writer_form`` for a multipart form with files."""
    viewer = await run_in_threadpool(writer_of, request)
    form = await read_upload(request)
    check_csrf(viewer, form.fields)
    return viewer, form


def safe_next(value: str | None) -> str:
    """A local path to go to after logging in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/reports"
    return value


async def login_page(request: Request) -> Response:
    """The login form."""
    viewer = await run_in_threadpool(viewer_of, request)
    nxt = safe_next(request.query_params.get("next"))
    return pages_actions.html_page(pages_actions.login(viewer, nxt, error=None, read_only=ctx_of(request)
                                                      .read_only))


async def login(request: Request) -> Response:
    """Check the token and start a session (303 to ``next``); 401 and the form again otherwise."""
    if not _same_origin(request):
        raise HTTPException(403, "refused: the login form was not posted from this server's own pages")
    form = await read_form(request)
    nxt = safe_next(form.get("next"))
    token = form.get("token", "").strip()
    record = await run_in_threadpool(verify_token, ctx_of(request).sessions, token) if token else None
    if record is None:
        return pages_actions.html_page(pages_actions.login(
            None, nxt, error="That token is not valid (or was revoked).",
            read_only=ctx_of(request).read_only), status=401)
    response = RedirectResponse(nxt, status_code=303)
    response.set_cookie(COOKIE, signer_of(request).issue(record.id, record.name),
                        max_age=int(signer_of(request).max_age), path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    """End the session (the cookie is dropped) and go to the reports."""
    if not _same_origin(request):
        raise HTTPException(403, "refused: the logout form was not posted from this server's own pages")
    response = RedirectResponse("/reports", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


def routes() -> list[Route]:
    """Login and logout."""
    return [Route("/login", login_page, methods=["GET"]), Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"])]

