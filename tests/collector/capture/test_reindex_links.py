"""``collector reindex`` restores how each capture was fetched: the mode and its reason, and the link of
every page requisite (HTTP mode) and browser sub-resource to its page, from the WARC files alone
(real crawls: the requisite site, and the social web through Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from collector.capture.reindex import reindex_home
from collector.capture.run import capture_urls, stream_captures
from storage.database import connect
from storage.models import Capture
from tests.collector.capture import requisite_site
from tests.conftest import make_config

site = pytest.fixture(scope="module")(requisite_site.serving)

pytestmark = pytest.mark.slow  # Chromium


def _links(db_url: str) -> dict[str, tuple[Any, ...]]:
    """Each capture row by its main record's WARC-Record-ID: (url, mode, mode_reason, the record id
    of its page) - row ids are left out: a rebuilt index numbers its rows anew."""
    sessions = connect(db_url)
    try:
        with sessions() as session:
            rows = session.execute(select(Capture.id, Capture.warc_record_id, Capture.url, Capture.mode,
                                          Capture.mode_reason, Capture.page_id)).all()
    finally:
        sessions.kw["bind"].dispose()
    record_of = {row.id: row.warc_record_id for row in rows}
    return {row.warc_record_id: (row.url, row.mode or "http", row.mode_reason,
                                 record_of.get(row.page_id)) for row in rows}


def test_reindex_restores_modes_and_page_links(site: str, social: str, home: Path) -> None:
    config = make_config(home, browser="never")
    requisites: list[dict[str, Any]] = []
    stream_captures(config, [f"{site}/article/1", f"{site}/article/2"], on_result=lambda _r: None,
                    on_requisite=requisites.append)
    browser = make_config(home, browser="always", browser_timeout=6.0, browser_scroll_steps=1)
    [post] = capture_urls(browser, [social + "/post/1"])
    assert post["mode"] == "browser" and requisites
    before = _links(config.db_url)
    linked = [link for link in before.values() if link[3] is not None]
    # both kinds of link were made: HTTP requisites and the browser page's sub-resources
    assert {(mode, reason) for _, mode, reason, _ in linked} >= {("http", None),
                                                                  ("browser", "sub-resource")}
    assert ("browser", "--browser") in {(mode, reason) for _, mode, reason, _ in before.values()}

    for path in home.glob("collector.db*"):  # the index is gone; the WARC files stay
        path.unlink()
    summary = reindex_home(config)
    assert summary["ok"] and summary["captures"] == len(before)
    assert _links(config.db_url) == before
