"""The researcher's workbench in a real browser (Playwright driving Debian's Chromium), doing what a person
does: log in with a token, add the seed report from a file, attach a URL and a quote to ref 6, press
"check" and see the verdict arrive, schedule the report, log out and see every write refused. A form
posted from another origin (with the session's own CSRF token in it) is refused 403. The new pages as a
person sees them: no console error or CSP violation, text contrast >= 4.5, key elements inside the
screen below the header, also 390 px wide.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from collector.demo.localweb import Page
from storage.database import connect
from storage.reports import links_of
from tests.collector.server.test_browser import CHROMIUM, browser  # noqa: F401 (the fixture)
from tests.collector.server.visual import Seen, box, unreadable
from tests.collector.server.workbench import QUOTE, REPORT, Served, person_tab, served

NO_CHROMIUM = "Chromium not installed (apt-get install chromium)"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

MIN_CONTRAST = 4.5
PHONE = {"width": 390, "height": 844}
WRITES = ["/reports", "/reports/ferries/links", "/reports/ferries/manifest", "/reports/ferries/check",
          "/reports/ferries/capture", "/schedules", "/schedules/1/pause", "/schedules/1/resume",
          "/schedules/1/remove", "/feeds", "/feeds/pilots/remove", "/webhooks"]


def as_seen(page: Any, seen: Seen, *selectors: str) -> None:
    """Nothing failed on the page, its text is readable, and each selector's first element is inside
    the screen's width and below the header."""
    seen.check(page)
    assert unreadable(page, MIN_CONTRAST) == [], page.url
    width = page.viewport_size["width"]
    header = box(page.locator("header.site"))
    for selector in selectors:
        element = box(page.locator(selector).first)
        assert element.width > 0 and element.x >= 0 and element.x + element.width <= width + 0.5, (
            page.url, selector, element, width)
        assert element.y >= header.y + header.height, (page.url, selector, element, header)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{page.url} scrolls sideways"


def figure(page: Any, key: str) -> int:
    return int(page.locator(f".health [data-health='{key}'] b").first.inner_text())


def refused_writes(page: Any, base: str, csrf: str) -> dict[str, int]:
    """Post every write form's path from the page itself (same origin, the old CSRF token)."""
    statuses: dict[str, int] = page.evaluate(
        """async ([paths, csrf]) => {
             const out = {};
             for (const path of paths) {
               const body = new FormData();
               body.append('csrf', csrf); body.append('ref', '6'); body.append('url', 'https://a.test/');
               const reply = await fetch(path, {method: 'POST', body: body, redirect: 'manual'});
               out[path] = reply.status;
             }
             return out;
           }""", [WRITES, csrf])
    return statuses


def test_a_researcher_runs_a_report_from_the_browser(browser: Any, home: Path) -> None:  # noqa: F811
    with served(home) as s, person_tab(browser) as (page, seen):
        _workbench(page, seen, s)


def _workbench(page: Any, seen: Seen, s: Served) -> None:
    page.goto(s.base + "/reports", wait_until="networkidle")
    assert page.locator("form.act").count() == 0  # no write form before logging in
    page.click("header.site a.login")
    page.wait_for_url(re.compile(r"/login"))
    as_seen(page, seen, "form.login input[name=token]", "form.login button")
    page.fill("input[name=token]", s.token)
    page.click("form.login button")
    page.wait_for_url(s.base + "/reports")
    assert page.locator("header.site .who").inner_text() == "alice"

    # add the seed report from a file
    page.set_input_files("input[name=document]", str(REPORT))
    page.fill("form.act input[name=name]", "ferries")
    page.click("form.act button:text-is('Add report')")
    page.wait_for_url(s.base + "/reports/ferries")
    as_seen(page, seen, ".health", "form.act fieldset")
    needing = figure(page, "needs_url")
    assert needing >= 1 and figure(page, "archived") == 0
    assert "needs a URL" in page.locator("tr[data-ref='6']").inner_text()

    # attach a URL and a quote to ref 6
    attach = page.locator("form[action='/reports/ferries/links']")
    attach.locator("select[name=ref]").select_option("6")
    attach.locator("input[name=url]").fill(s.cited)
    attach.locator("input[name=quote]").fill(QUOTE)
    attach.locator("button").click()
    page.wait_for_url(s.base + "/reports/ferries")
    row = page.locator("tr[data-ref='6']")
    assert s.cited in row.inner_text() and figure(page, "needs_url") == needing - 1

    # a form posted from another origin is refused, even carrying this session's CSRF token
    csrf = page.locator("form[action='/reports/ferries/links'] input[name=csrf]").get_attribute("value")
    s.web.pages["/elsewhere"] = Page(
        f"<html><body><form method='post' action='{s.base}/reports/ferries/links'>"
        f"<input type='hidden' name='csrf' value='{csrf}'><input type='hidden' name='ref' value='6'>"
        "<input type='hidden' name='url' value='https://attacker.test/'><button>win a prize</button>"
        "</form></body></html>".encode())
    page.goto(s.web.base_url + "/elsewhere")
    with page.expect_response(f"{s.base}/reports/ferries/links") as posted:
        page.click("button")
    assert posted.value.status == 403
    seen.expect(403, f"{s.base}/reports/ferries/links")  # that 403 is the point
    seen.expect(404, f"{s.web.base_url}/favicon.ico")  # the other site's page has no icon
    sessions = connect(s.config.db_url)
    try:
        assert [k.url for k in links_of(sessions, "ferries")] == [s.cited]
    finally:
        sessions.kw["bind"].dispose()

    # check ref 6 now: the verdict arrives in the page
    page.goto(s.base + "/reports/ferries")
    page.locator("tr[data-ref='6'] form[action='/reports/ferries/check'] button").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f]+$"))
    job_path = page.url.removeprefix(s.base)
    # the page came before the verdict (a crawl takes seconds): the script's polling brings it in
    assert page.locator("[data-job]").get_attribute("data-state") in ("queued", "running")
    page.locator("[data-job][data-state='done']").wait_for(timeout=120_000)
    verdict = page.locator(".job-results .badge")
    assert verdict.count() == 1 and verdict.get_attribute("data-verdict") == "unchanged"
    assert s.cited in page.locator(".job-results").inner_text()
    as_seen(page, seen, ".job", ".job-results")
    page.click("p.job a")
    page.wait_for_url(s.base + "/reports/ferries")
    assert page.locator("tr[data-ref='6'] .badge[data-verdict='unchanged']").count() == 1
    assert figure(page, "archived") == 1

    # schedule the report
    schedule = page.locator("form[action='/schedules']")
    schedule.locator("select[name=action]").select_option("check")
    schedule.locator("input[name=every]").fill("6h")
    schedule.locator("button").click()
    page.wait_for_url(s.base + "/schedules")
    listed = page.locator("table.schedules tbody tr")
    assert listed.count() == 1 and "ferries" in listed.inner_text() and "active" in listed.inner_text()
    as_seen(page, seen, "table.schedules", "form.act fieldset")
    listed.locator("button:text-is('pause')").click()
    page.wait_for_url(s.base + "/schedules")
    assert "paused" in page.locator("table.schedules tbody tr").inner_text()

    # the new pages at phone width
    page.set_viewport_size(PHONE)
    for path, selectors in (("/reports", (".health", "form.act fieldset")),
                            # the citation table scrolls sideways inside its box
                            ("/reports/ferries", (".health", "form.act fieldset", "div.scroll")),
                            ("/schedules", ("form.act fieldset",)),
                            (job_path, (".job", ".job-results")), ("/login", ("p",))):
        page.goto(s.base + path, wait_until="networkidle")
        as_seen(page, seen, *selectors)
    page.set_viewport_size({"width": 1280, "height": 900})

    # log out (from a page without forms of its own): no form is offered and every write is refused
    page.goto(s.base + "/reports/ferries")
    csrf = page.locator("form.act input[name=csrf]").first.get_attribute("value") or ""
    page.goto(s.base + "/search?q=ferries", wait_until="networkidle")
    page.click("header.site form.logout button")
    page.wait_for_url(s.base + "/reports")
    assert page.locator("header.site a.login").is_visible() and page.locator("form.act").count() == 0
    statuses = refused_writes(page, s.base, csrf)
    assert statuses == dict.fromkeys(WRITES, 401), statuses
    for path in WRITES:  # those 401s are the point
        seen.expect(401, s.base + path)
    page.goto(s.base + "/login", wait_until="networkidle")
    as_seen(page, seen, "form.login")
