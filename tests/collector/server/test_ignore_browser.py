"""Ignore rules from the interface in a real browser (Playwright driving Debian's Chromium), doing what a
person does: a page whose only change is its "Updated: <date>" line has two ``changed`` checks; log in,
open its timeline, add a regex rule for that line in the form, check again and see the verdict become
``unchanged`` with the raw change still shown ("before ignore rules"); remove the rule; log out and see
the form's posts refused. The page as a person sees it: no console error or CSP violation, text contrast
>= 4.5, the form inside the screen, also 390 px wide.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from collector.capture.run import capture_urls
from collector.check.rules import list_ignore_rules
from collector.check.run import CheckTarget, run_checks
from storage.database import connect
from tests.collector.check.test_ignore_run import _phase, proxied  # noqa: F401 (the fixture)
from tests.collector.server.test_browser import CHROMIUM, browser  # noqa: F401 (the fixture)
from tests.collector.server.test_workbench_browser import NO_CHROMIUM, PHONE, as_seen
from tests.collector.server.visual import Seen
from tests.collector.server.workbench import Served, person_tab, served

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

DATE_LINE = r"^Updated: .*$"


def _check(s: Served, url: str) -> dict[str, Any]:
    [row] = run_checks(s.config, [CheckTarget(url=url)], seed=1)
    return row


def _rules(s: Served) -> list[int]:
    sessions = connect(s.config.db_url)
    try:
        return [r.id for r in list_ignore_rules(sessions)]
    finally:
        sessions.kw["bind"].dispose()


def test_a_researcher_ignores_a_date_line_from_the_timeline(browser: Any, server: str, home: Path,  # noqa: F811
                                                             proxied: str) -> None:  # noqa: F811
    dated = proxied + "/v/dated"
    with served(home, settings={"retry_times": 1}) as s:
        assert [r["outcome"] for r in capture_urls(s.config, [dated])] == ["captured"]
        _phase(server, proxied, 2)  # only the "Updated: <date>" line changes
        assert [_check(s, dated)["status"] for _ in range(2)] == ["changed", "changed"]
        with person_tab(browser) as (page, seen):
            _ignore_a_date_line(page, seen, s, dated)


def _ignore_a_date_line(page: Any, seen: Seen, s: Served, dated: str) -> None:
    timeline = s.base + "/timeline?" + urlencode({"url": dated})
    page.goto(timeline, wait_until="networkidle")
    assert page.locator("form.ignore").count() == 0  # no form before logging in
    assert "Log in to add or remove ignore rules" in page.locator("p.login-hint").inner_text()
    page.goto(s.base + "/login?" + urlencode({"next": timeline.removeprefix(s.base)}))
    page.fill("input[name=token]", s.token)
    page.click("form.login button")
    page.wait_for_url(timeline)
    checks = page.locator("table").first.locator(".badge[data-verdict='changed']")
    assert checks.count() == 2
    as_seen(page, seen, "form.ignore fieldset", "#ignore-rules")

    # a pattern that is not a regular expression is refused, naming the problem
    form = page.locator("form.ignore")
    form.locator("select[name=kind]").select_option("regex")
    form.locator("input[name=pattern]").fill("Updated: (")
    with page.expect_response(s.base + "/ignore-rules") as posted:
        form.locator("button").click()
    assert posted.value.status == 400
    assert "is not a valid regular expression" in page.locator("p.error").inner_text()
    seen.expect(400, s.base + "/ignore-rules")  # that 400 is the point
    assert _rules(s) == []

    # the date-line rule, for this URL
    page.goto(timeline, wait_until="networkidle")
    form = page.locator("form.ignore")
    form.locator("select[name=scope]").select_option("url")
    form.locator("select[name=kind]").select_option("regex")
    form.locator("input[name=pattern]").fill(DATE_LINE)
    form.locator("input[name=note]").fill("the date line")
    form.locator("button").click()
    page.wait_for_url(timeline)
    [rule_id] = _rules(s)
    listed = page.locator("table.ignore-rules tbody tr")
    assert listed.count() == 1 and DATE_LINE in listed.inner_text() and "the date line" in listed.inner_text()

    # check again: unchanged, with the raw change beside it
    after = _check(s, dated)
    assert (after["status"], after["raw_status"]) == ("unchanged", "changed")
    page.reload(wait_until="networkidle")
    ruled = page.locator("tr", has_text=f"before ignore rules {rule_id}: changed")
    assert ruled.count() == 1 and ruled.locator(".badge").get_attribute("data-verdict") == "unchanged"
    assert checks.count() == 2  # the earlier verdicts stay as they were
    as_seen(page, seen, "table.ignore-rules", "form.ignore fieldset")
    ruled.locator("a", has_text="diff").click()  # the raw diff, the date line struck through
    page.wait_for_url(re.compile(r"/diff\?"))
    assert "Updated:" in page.locator("s.ignored").first.inner_text()
    as_seen(page, seen, ".ignored-rules")

    page.set_viewport_size(PHONE)
    page.goto(timeline, wait_until="networkidle")
    as_seen(page, seen, "form.ignore fieldset", "table.ignore-rules")
    page.set_viewport_size({"width": 1280, "height": 900})

    # remove it
    csrf = page.locator("form.ignore input[name=csrf]").get_attribute("value") or ""
    page.locator("table.ignore-rules button:text-is('remove')").click()
    page.wait_for_url(timeline)
    assert page.locator("table.ignore-rules").count() == 0 and _rules(s) == []
    assert "No ignore rule applies here" in page.locator("#ignore-rules + p").inner_text()

    # logged out: no form, and a post with the old CSRF token is refused
    page.click("header.site form.logout button")
    page.wait_for_url(s.base + "/reports")
    statuses = page.evaluate(
        """async ([csrf, url, rule]) => {
             const out = [];
             for (const path of ['/ignore-rules', '/ignore-rules/' + rule + '/remove']) {
               const body = new FormData();
               body.append('csrf', csrf); body.append('scope', 'url'); body.append('target', url);
               body.append('kind', 'regex'); body.append('pattern', '^Updated: .*$');
               out.push((await fetch(path, {method: 'POST', body: body, redirect: 'manual'})).status);
             }
             return out;
           }""", [csrf, dated, rule_id])
    assert statuses == [401, 401]
    seen.expect(401, s.base + "/ignore-rules")  # those 401s are the point
    assert _rules(s) == []
    page.goto(timeline, wait_until="networkidle")
    assert page.locator("form.ignore").count() == 0
    as_seen(page, seen, "#ignore-rules")
