"""Helpers of the server tests: run the app on a real socket, make HTTP requests, parse Link headers."""

from __future__ import annotations

import contextlib
import http.client
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from collector.server import ServerContext, create_app
from storage.archive import Archive
from storage.database import connect
from storage.records import CaptureInput
from tests.conftest import make_config
from tests.storage.helpers import exchange


@contextlib.contextmanager
def running(ctx: ServerContext) -> Iterator[str]:
    """Serve ``ctx`` with uvicorn on 127.0.0.1, port 0, in a thread; yields the base URL."""
    from collector.cli.serve import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), log_level="warning", ws="none",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # until it listens, or its thread ends without having started
        assert thread.is_alive(), "uvicorn stopped before it started (see the log above)"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def archived(url: str, when: datetime, body: bytes, headers: list[tuple[str, str]]) -> CaptureInput:
    """A capture of ``url`` at ``when``: one GET answered 200 with ``body`` and ``headers``."""
    return CaptureInput(url=url, captured_at=when, outcome="captured", final_url=url,
                        exchanges=[exchange(url, when, body=body, headers=headers)],
                        redirect_chain=[{"url": url, "status": 200}])


@contextlib.contextmanager
def serving(db_url: str, home: Path, items: Sequence[CaptureInput]) -> Iterator[str]:
    """``items`` archived under ``home`` on ``db_url`` (100 a commit) and served: yields the base URL."""
    archive = Archive.open(db_url, home / "warcs")
    try:
        for start in range(0, len(items), 100):
            archive.commit_captures(list(items[start:start + 100]))
        ctx = ServerContext(config=make_config(home, database_url=db_url), sessions=connect(db_url))
        with running(ctx) as base:
            yield base
    finally:
        archive.close()


@dataclass
class Reply:
    """An HTTP response: status, headers (lower-case names), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
          body: bytes | None = None) -> Reply:
    """One request, redirects not followed; ``url`` is sent as is (no re-encoding of the path)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    target = url[len(f"{parts.scheme}://{parts.netloc}"):] or "/"
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, found, data)
    finally:
        conn.close()


@dataclass
class LinkEntry:
    """One entry of a Link header."""

    uri: str
    rels: set[str]
    attrs: dict[str, str]

    @property
    def datetime(self) -> Any:
        return parsedate_to_datetime(self.attrs["datetime"]) if "datetime" in self.attrs else None


_ENTRY = re.compile(r'<([^>]*)>\s*((?:;\s*[\w*-]+\s*=\s*(?:"[^"]*"|[^;,\s]+)\s*)*)')
_ATTR = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"([^"]*)"|([^;,\s]+))')


def parse_link(value: str) -> list[LinkEntry]:
    """Parse a ``Link`` header (or an application/link-format body) into entries (RFC 8288 subset)."""
    entries = []
    for match in _ENTRY.finditer(value):
        attrs = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                 for m in _ATTR.finditer(match.group(2))}
        entries.append(LinkEntry(match.group(1), set(attrs.pop("rel", "").split()), attrs))
    return entries


def by_rel(entries: list[LinkEntry], rel: str) -> list[LinkEntry]:
    """Entries having ``rel``."""
    return [e for e in entries if rel in e.rels]
