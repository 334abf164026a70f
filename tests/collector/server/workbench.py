"""Helpers of the workbench tests (issue 17): a served archive with a token, a page to cite, and form
posts as a browser sends them (session cookie, CSRF field, Origin)."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from collector.config import Config
from collector.demo.localweb import LocalWeb, Page
from collector.server import ServerContext
from storage.archive import Archive
from storage.database import connect
from storage.tokens import create_token
from tests.collector.server.helpers import Reply, fetch, running
from tests.collector.server.visual import CSP_LISTENER, Seen, watch
from tests.conftest import make_config

REPORT = Path(__file__).resolve().parents[2] / "data" / "reports" / "night-ferries.md"
QUOTE = "carry no manifest at all"
CITED = (b"<html><head><title>Pilots speak</title></head><body><article><h1>Pilots speak</h1>"
         b"<p>The night ferries carry no manifest at all, the pilots told the inspectors on the quay.</p>"
         b"<p>Most crossings happen between midnight and four in the morning, when the port is "
         b"closed and the patrol boats are moored.</p></article></body></html>")


@dataclass
class Served:
    """A running server over a fresh archive, its token, and a small web with the cited page."""

    base: str
    token: str
    config: Config
    web: LocalWeb

    @property
    def cited(self) -> str:
        """The URL of the page ref 6 gets attached."""
        return self.web.base_url + "/pilots"


@contextlib.contextmanager
def served(home: Path, db_url: str | None = None, *, settings: dict[str, Any] | None = None,
           **options: Any) -> Iterator[Served]:
    """Serve a fresh archive in ``home`` (on ``db_url`` when given; with more ``settings``) with one token
    named "alice"; ``options`` go to the ServerContext."""
    config = make_config(home, **({"database_url": db_url} if db_url else {}), **(settings or {}))
    Archive.open(config.db_url, config.warc_dir).close()  # the schema
    sessions = connect(config.db_url)
    token, _ = create_token(sessions, "alice", now=datetime.now(UTC))
    with LocalWeb({"/pilots": Page(CITED)}) as web, \
            running(ServerContext(config=config, sessions=sessions, **options)) as base:
        yield Served(base, token, config, web)


@contextlib.contextmanager
def person_tab(browser: Any) -> Iterator[tuple[Any, Seen]]:
    """A new 1280x900 tab of ``browser`` (its own context) whose console errors, failed loads and CSP
    violations are watched; closed after."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page, watch(page)
    finally:
        context.close()


def api(base: str, path: str, body: object = None, *, token: str | None = None, method: str | None = None
        ) -> tuple[int, dict[str, Any]]:
    """A JSON API call (POST when there is a body)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    reply = fetch(base + path, method=method or ("GET" if body is None else "POST"), headers=headers,
                  body=None if body is None else json.dumps(body).encode())
    return reply.status, json.loads(reply.body or b"{}")


def login(base: str, token: str) -> str:
    """Log in through the form; returns the session cookie (``name=value``)."""
    reply = post_form(base, "/login", {"token": token, "next": "/reports"}, cookie=None)
    assert reply.status == 303, reply.body[:300]
    return reply.header("set-cookie").split(";")[0]  # type: ignore[union-attr]


def csrf_of(base: str, cookie: str, path: str = "/reports") -> str:
    """The CSRF token the page's forms carry for this session."""
    page = fetch(base + path, headers={"Cookie": cookie})
    found = re.search(r"name='csrf' value='([^']+)'", page.text)
    assert found, f"no form with a CSRF field on {path}"
    return found.group(1)


def post_form(base: str, path: str, fields: dict[str, str], *, cookie: str | None,
              origin: str | None = "same", headers: dict[str, str] | None = None) -> Reply:
    """Post a URL-encoded form as a browser does (``origin="same"``: this server's origin)."""
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if cookie:
        sent["Cookie"] = cookie
    if origin is not None:
        sent["Origin"] = base if origin == "same" else origin
    return fetch(base + path, method="POST", headers=sent, body=urlencode(fields).encode())


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """A multipart/form-data body: (content type, bytes)."""
    boundary = "collector-test-boundary-7f3a"
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                ).encode()
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\""
                "\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return f"multipart/form-data; boundary={boundary}", out + f"--{boundary}--\r\n".encode()


def wait_job(base: str, job_id: str, *, tries: int = 600) -> dict[str, Any]:
    """Poll a job until it is done or failed (each poll waits on the server's reply, ~0.1 s apart)."""
    for _ in range(tries):
        status, job = api(base, f"/api/jobs/{job_id}")
        assert status == 200, job
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['state']} after {tries} polls")
