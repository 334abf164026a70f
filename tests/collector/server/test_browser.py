"""The web interface in a real browser (Playwright driving Debian's Chromium): citation dashboard ->
snapshot -> diff, and proof that an archived page's scripts, links, refresh and form do nothing.

Skipped when Chromium (``apt-get install chromium``) or the ``playwright`` package is missing. Every
request the browser makes is checked: nothing may leave the archive's origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from storage.queries import snapshots

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium not installed (apt-get install chromium)")]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Any, live: str) -> Iterator[tuple[Any, list[str]]]:
    """A page whose every request outside the archive's origin is aborted and recorded."""
    context = browser.new_context()
    escaped: list[str] = []
    origin = urlsplit(live).netloc

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            escaped.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page, escaped
    context.close()


def first_stamp(world: dict[str, Any], path: str) -> str:
    found = [c for c in snapshots(world["sessions"], world["base"] + path) if c.outcome == "captured"]
    return found[0].captured_at.strftime("%Y%m%d%H%M%S")


def test_dashboard_to_snapshot_to_diff(tab: tuple[Any, list[str]], live: str, world: dict[str, Any]) -> None:
    page, escaped = tab
    page.goto(f"{live}/reports/{world['report']}")
    row = page.locator("tr[data-verdict='changed']")
    assert row.count() == 1 and "/article" in row.inner_text()
    # the light script filters rows by verdict
    page.select_option("select[data-filter='verdict']", "unchanged")
    assert not row.is_visible() and page.locator("tr[data-verdict='unchanged']").first.is_visible()
    page.select_option("select[data-filter='verdict']", "")
    assert row.is_visible()
    # snapshot: banner outside, archived page inside a sandboxed frame, its image through the archive
    row.locator("a.snapshot").click()
    page.wait_for_url(re.compile(r"/web/\d{14}/"))
    banner = page.locator("#archive-banner")
    assert world["base"] + "/article" in banner.inner_text() and "sha256" in banner.inner_text()
    frame = page.frame_locator("iframe.replay")
    frame.locator("h1").wait_for()
    assert "River at a record low" in frame.locator("h1").inner_text()
    photo = frame.locator("#photo")
    photo.wait_for()
    page.wait_for_function("() => true")
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0") is True
    # diff, from the dashboard
    page.go_back()
    page.locator("tr[data-verdict='changed'] a.diff").click()
    page.wait_for_url(re.compile(r"/diff\?"))
    assert page.locator("table.diff td.left mark").count() >= 1
    assert page.locator("table.diff td.left del").count() >= 1
    assert page.locator("table.diff td.right ins").count() >= 1
    assert escaped == []


def test_archived_scripts_do_not_run(tab: tuple[Any, list[str]], live: str, world: dict[str, Any]) -> None:
    page, escaped = tab
    url = world["base"] + "/hostile"
    stamp = first_stamp(world, "/hostile")
    page.goto(f"{live}/web/{stamp}/{url}")
    frame_el = page.locator("iframe.replay")
    frame = page.frame_locator("iframe.replay")
    frame.locator("#status").wait_for()
    page.wait_for_timeout(1500)  # longer than the page's (noscript) meta refresh
    assert frame.locator("#status").inner_text() == "script did not run"
    assert "PWNED" not in page.title()
    assert frame.locator("body").get_attribute("data-pwned") is None
    src_before = frame_el.get_attribute("src")
    frame.locator("#js").click()
    frame.locator("#submit").click()
    frame.locator("#div").click()
    page.wait_for_timeout(500)
    assert frame.locator("#status").inner_text() == "script did not run"
    assert frame_el.get_attribute("src") == src_before
    assert page.url == f"{live}/web/{stamp}/{url}"
    inner = next(f for f in page.frames if "if_/" in f.url)
    assert inner.url == f"{live}/web/{stamp}if_/{url}"
    # a normal link opens the linked page's memento, banner and all, in the whole window
    frame.locator("#ok").click()
    page.wait_for_url(re.compile(rf"/web/\d{{14}}/{re.escape(world['base'])}/other$"))
    assert "Harbour story" in page.frame_locator("iframe.replay").locator("h1").inner_text()
    assert escaped == []


def test_raw_hostile_payload_cannot_run_either(tab: tuple[Any, list[str]], live: str,
                                               world: dict[str, Any]) -> None:
    page, escaped = tab
    url = world["base"] + "/hostile"
    page.goto(f"{live}/web/{first_stamp(world, '/hostile')}id_/{url}")  # unrewritten, scripts and all
    page.locator("#status").wait_for()
    page.wait_for_timeout(1500)
    assert page.locator("#status").inner_text() == "script did not run"
    assert "PWNED" not in page.title()
    assert escaped == []
