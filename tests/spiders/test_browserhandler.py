"""The browser download handler with a real Chromium: a capture's response is made when its page
commits, guarded, without the DOM (the capture reads it once the page has settled)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.reactor import install_reactor
from scrapy.utils.test import get_crawler

from collector.capture.browser import browser_settings
from spiders.browser import RECORDER_KEY
from spiders.browsercapture import BrowserCapture, close_page
from spiders.browserhandler import BrowserDownloadHandler
from tests.conftest import make_config

install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")  # scrapy-playwright's

pytestmark = pytest.mark.slow  # Chromium


def _nothing(*_: Any) -> None:
    return None


def test_a_captures_response_is_made_at_commit_without_the_dom(social: str, tmp_path: Path) -> None:
    config = make_config(tmp_path, browser="always")
    guard = {"COLLECTOR_ALLOW_PRIVATE": False, "COLLECTOR_ALLOW_HOSTS": ["127.0.0.1"]}  # behind the proxy
    handler = BrowserDownloadHandler(get_crawler(settings_dict={**browser_settings(config), **guard}))
    request = BrowserCapture(allow_hosts=frozenset({"127.0.0.1"})).request(
        f"{social}/post/1", {}, "--browser", callback=_nothing, errback=_nothing)

    async def load() -> tuple[Any, str]:
        try:
            response = await handler._download_request(request, None)
            page = request.meta["playwright_page"]  # kept open for the capture
            await page.wait_for_load_state("load")
            return response, await page.content()
        finally:
            await close_page(request.meta)
            await handler._close()

    response, dom = asyncio.run(load())
    assert request.meta[RECORDER_KEY].attached  # the page loaded guarded and recorded
    assert response.status == 200
    assert response.url == f"{social}/post/1"
    assert "playwright" in response.flags
    assert response.body == b""  # scrapy-playwright would have read the DOM at commit
    assert "<html" in dom  # the page itself is there to be read, once
    assert request.meta["download_latency"] > 0
