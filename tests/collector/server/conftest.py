"""Fixtures of the server tests.

``memento_server``: an archive written through storage (exact timestamps, SQLite and PostgreSQL) served
over real HTTP. ``world``/``live``: a small web (normal, changing and hostile pages, an HTML report)
captured with collector.capture.run.capture_urls, a report added and checked, served over real HTTP.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.config import Config
from collector.demo.localweb import LocalWeb, Page
from collector.server import ServerContext
from storage.archive import Archive
from storage.database import connect
from storage.records import CaptureInput
from storage.tokens import create_token
from tests.collector.server.helpers import running
from tests.collector.server.site import PAGES, V2, report_html
from tests.conftest import make_config
from tests.storage.helpers import failed_capture, html_capture

CSS_URL = "http://www.iana.org/_css/2013.1/screen.css"
EXAMPLE_URL = "http://example.com/?example=1"
CSS_TIMES = ["20140126200737", "20140126200804", "20140127171239"]
EXAMPLE_TIMES = ["20140103030321", "20140103030341"]


def at(stamp: str, micro: int = 0) -> datetime:
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC, microsecond=micro)


def css_capture(stamp: str) -> CaptureInput:
    body = f"/* screen.css as of {stamp} */ body {{ color: #333; }}".encode()
    return html_capture(CSS_URL, at(stamp, 250_000), body=body, content_type="text/css")


@pytest.fixture
def memento_server(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Captures at pywb's sample timestamps, served: ``base``, ``archive``, ``captures`` by URL."""
    home = tmp_path / "mhome"
    archive = Archive.open(db_url, home / "warcs")
    try:
        css = archive.commit_captures([css_capture(s) for s in CSS_TIMES])
        example = archive.commit_captures(
            [html_capture(EXAMPLE_URL, at(s), body=f"<html><body>example {s}</body></html>".encode())
             for s in EXAMPLE_TIMES] + [failed_capture(EXAMPLE_URL, at("20140105000000"))])
        config = make_config(home, database_url=db_url)
        ctx = ServerContext(config=config, sessions=connect(db_url))
        with running(ctx) as base:
            yield {"base": base, "archive": archive, "css": css, "example": example}
    finally:
        archive.close()


@pytest.fixture(scope="session")
def site() -> Iterator[LocalWeb]:
    """The small web the world fixture captures (pages can be changed while it runs)."""
    with LocalWeb({path: Page(body) if isinstance(body, bytes) else Page(*body)
                   for path, body in PAGES.items()}) as web:
        web.pages["/report.html"] = Page(report_html(web.base_url))
        yield web


def _start_phase_two(web: LocalWeb) -> None:
    for path, body in V2.items():
        web.pages[path] = Page(body)


@pytest.fixture(scope="session")
def world(site: LocalWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Capture the site, add its report, capture the citations, change the site, check the report."""
    from collector.capture.run import capture_urls
    from collector.check.run import CheckTarget, run_checks
    from collector.reports.versions import add_report, effective_citations

    home = tmp_path_factory.mktemp("world")
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(key, None)
    config: Config = make_config(home)
    base = site.base_url
    first = capture_urls(config, [base + p for p in ("/article", "/other", "/hostile", "/img.png",
                                                      "/style.css")])
    assert all(r["outcome"] == "captured" for r in first), first
    name = "river-" + uuid.uuid4().hex[:6]
    summary = add_report(config, base + "/report.html", name=name)
    assert summary["citations"] >= 2, summary
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        cites = effective_citations(archive, name)
    finally:
        archive.close()
    _start_phase_two(site)
    targets = [CheckTarget(url=u, quotes=c.quotes, report=name, ref=c.citation.ref)
               for c in cites for u in c.urls]
    checks = run_checks(config, targets, seed=3)
    return {"config": config, "home": home, "base": base, "report": name, "first": first,
            "checks": {c["url"]: c for c in checks}, "sessions": connect(config.db_url)}


@pytest.fixture(scope="session")
def live(world: dict[str, Any]) -> Iterator[str]:
    """Base URL of a server over the world's archive."""
    config: Config = world["config"]
    with running(ServerContext(config=config, sessions=connect(config.db_url))) as base:
        yield base


@pytest.fixture
def served(home: Path) -> Iterator[dict[str, Any]]:
    """An empty archive served on a real socket, with a bearer token: ``base``, ``token``, ``config``."""
    config = make_config(home)
    sessions = connect(config.db_url)
    token, _ = create_token(sessions, "api robot", now=datetime.now(UTC))
    with running(ServerContext(config=config, sessions=sessions)) as base:
        yield {"base": base, "token": token, "config": config}
