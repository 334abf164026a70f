"""The read side of page requisites and browser captures: replay serves a page's archived images and
stylesheets (found by URL, nearest in time), the snapshot page lists them and shows a concurrent
``urn:screenshot:`` resource, the timeline says the mode; a real crawl of the requisite site, served."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.warcwriter import WARCWriter

from collector.capture.run import stream_captures
from collector.server import ServerContext
from storage.archive import Archive
from storage.database import connect
from storage.queries import captures_by_ids
from tests.collector.capture import requisite_site
from tests.collector.capture.requisite_site import PHOTO_RGB, png
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config
from tests.storage.helpers import html_capture

SCREENSHOT = png(64, 48, (10, 160, 60))  # green: the visual test looks for it


site = pytest.fixture(scope="module")(requisite_site.serving)


def add_screenshot(warc_dir: Path, capture: Any, url: str) -> None:
    """Append a browser capture's screenshot to the page's WARC file as browsertrix writes it: a
    ``resource`` record ``urn:screenshot:<url>``, concurrent to the page's response record."""
    with open(warc_dir / capture.warc_file, "ab") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        record = writer.create_warc_record(
            f"urn:screenshot:{url}", "resource", payload=io.BytesIO(SCREENSHOT), length=len(SCREENSHOT),
            warc_content_type="image/png",
            warc_headers_dict={"WARC-Concurrent-To": capture.warc_record_id})
        writer.write_record(record)


@pytest.fixture(scope="module")
def served(site: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("served")
    config = make_config(home, per_host_concurrency=4)
    pages: list[dict[str, Any]] = []
    requisites: list[dict[str, Any]] = []
    url = f"{site}/article/5"
    stream_captures(config, [url], on_result=pages.append, on_requisite=requisites.append)
    sessions = connect(config.db_url)
    page = captures_by_ids(sessions, [pages[0]["id"]])[0]
    add_screenshot(config.warc_dir, page, url)
    with running(ServerContext(config=config, sessions=sessions)) as base:
        yield {"base": base, "url": url, "page": page, "requisites": requisites, "site": site,
               "config": config, "sessions": sessions}


def test_replayed_page_points_its_images_and_stylesheets_into_the_archive(served: dict[str, Any]) -> None:
    base, url, site = served["base"], served["url"], served["site"]
    stamp = served["page"].captured_at.strftime("%Y%m%d%H%M%S")
    framed = fetch(f"{base}/web/{stamp}if_/{url}").text
    photo = f"{base}/web/{stamp}id_/{site}/img/photo-5.png"
    assert f'src="{photo}"' in framed
    assert f'href="{base}/web/{stamp}cs_/{site}/static/site.css"' in framed
    reply = fetch(photo)
    while reply.status == 302:  # the image was captured a little after the page: nearest in time
        reply = fetch(reply.header("location") or "")
    assert reply.status == 200 and reply.body == png(40, 30, PHOTO_RGB)
    assert reply.header("content-type") == "image/png"


def test_a_stylesheet_is_served_with_its_urls_in_the_archive(served: dict[str, Any]) -> None:
    base, site = served["base"], served["site"]
    stamp = served["page"].captured_at.strftime("%Y%m%d%H%M%S")
    reply = fetch(f"{base}/web/{stamp}cs_/{site}/static/site.css")
    while reply.status == 302:
        reply = fetch(reply.header("location") or "")
    css = reply.text
    assert reply.status == 200 and "sandbox" in (reply.header("content-security-policy") or "")
    imported = re.search(r'@import url\("([^"]+)"\)|@import "([^"]+)"|url\("([^"]*more\.css)"\)', css)
    assert imported is not None and "cs_/" in imported.group(0)
    background = re.search(r'url\("([^"]*/img/bg\.png)"\)', css)
    assert background is not None and background.group(1).startswith(f"{base}/web/")
    assert "id_/" in background.group(1)
    reply = fetch(background.group(1))
    while reply.status == 302:
        reply = fetch(reply.header("location") or "")
    assert reply.status == 200 and reply.body.startswith(b"\x89PNG")
    # id_ stays byte for byte what was archived
    raw = fetch(f"{base}/web/{stamp}id_/{site}/static/site.css")
    while raw.status == 302:
        raw = fetch(raw.header("location") or "")
    assert b"url(/img/bg.png)" in raw.body


def test_snapshot_lists_the_requisites_and_shows_the_screenshot(served: dict[str, Any]) -> None:
    base, page = served["base"], served["page"]
    html = fetch(f"{base}/snapshot/{page.id}").text
    assert f"Loaded for this page ({len(served['requisites'])})" in html
    for requisite in served["requisites"]:
        assert f"/snapshot/{requisite['id']}" in html
    assert f"src='/snapshot/{page.id}/screenshot.png'" in html
    shot = fetch(f"{base}/snapshot/{page.id}/screenshot.png")
    assert shot.status == 200 and shot.body == SCREENSHOT and shot.header("content-type") == "image/png"
    data = fetch(f"{base}/snapshot/{page.id}.json").text
    assert '"requisites"' in data and '"screenshot"' in data
    # a requisite's snapshot page links back to its page; it has no screenshot
    first = served["requisites"][0]["id"]
    assert f"/snapshot/{page.id}" in fetch(f"{base}/snapshot/{first}").text
    assert fetch(f"{base}/snapshot/{first}/screenshot.png").status == 404


def test_requisites_stay_out_of_the_home_list_and_the_timeline_says_the_mode(
        served: dict[str, Any]) -> None:
    base = served["base"]
    home = fetch(f"{base}/").text
    assert "/img/photo-5.png" not in home and "/article/5" in home
    timeline = fetch(f"{base}/timeline?url={served['url']}").text
    assert "capture (http)" in timeline


def test_the_timeline_marks_browser_captures(served: dict[str, Any]) -> None:
    config = served["config"]
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        later = served["page"].captured_at + timedelta(minutes=5)
        archive.commit_captures([dataclasses.replace(html_capture(served["url"], later), mode="browser",
                                                     mode_reason="--browser")])
    finally:
        archive.close()
    html = fetch(f"{served['base']}/timeline?url={served['url']}").text
    assert "capture (http)" in html and "capture (browser)" in html
    marks = re.findall(r"<a class='dot ([^']*)'", html)
    assert len(marks) == 2 and sum("browser" in m.split() for m in marks) == 1
