"""The web interface in a real browser (Playwright driving Debian's Chromium): citation dashboard ->
snapshot -> diff, and proof that an archived page's scripts, links, refresh and form do nothing.

Then every page as a person sees it (``shown``: a home with a 200, a 500, a page that became a 404, a
changed page and a report with checked and unchecked citations): no console error, failed load or CSP
violation; every piece of text at a WCAG contrast >= 4.5; error captures coloured as errors; timeline
marks in time order across the axis; key elements inside the screen and below the header, also at
phone width.

Skipped when Chromium (``apt-get install chromium``) or the ``playwright`` package is missing. Every
request the browser makes is checked: nothing may leave the archive's origin.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from collector.demo.localweb import LocalWeb, Page
from collector.server import ServerContext
from storage.database import connect
from storage.queries import snapshots
from tests.collector.server.helpers import running
from tests.collector.server.site import PAGES, QUOTE, V2
from tests.collector.server.visual import (
    CSP_LISTENER,
    Seen,
    box,
    colours,
    contrast,
    hue_class,
    unreadable,
    watch,
)
from tests.conftest import make_config

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium not installed (apt-get install chromium)")]


def launch_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, for a test module (``browser`` here)."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


browser = pytest.fixture(scope="module", name="browser")(launch_browser)


@pytest.fixture
def tab(browser: Any, live: str) -> Iterator[tuple[Any, list[str]]]:
    """A page whose every request outside the archive's origin is aborted and recorded."""
    yield from open_tab(browser, live)


def open_tab(browser: Any, base: str) -> Iterator[tuple[Any, list[str]]]:
    """A new page (and context) of ``browser`` whose every request outside ``base``'s origin is aborted
    and recorded in the list yielded with it; closed when the generator ends."""
    context = browser.new_context()
    escaped: list[str] = []
    origin = urlsplit(base).netloc

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


# --- what a person sees: positions, colours, contrast, no CSP violations -------------------------------

GONE = b"""<!doctype html><html><head><title>Dam inspection</title></head><body><article>
<h1>Dam inspection</h1><p>The inspectors walked the length of the dam on Monday and found the concrete
in good order, the sluices working and the spillway clear of debris after the winter storms.</p>
<p>Their report will be published by the water authority before the end of the month.</p></article>
</body></html>"""
LATER_QUOTE = "the reservoir will be refilled by the spring"
MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text


def visual_report(base: str) -> bytes:
    """A report with checked citations (the article with its quote, the dam page) and unchecked ones (the
    harbour story; a page with a quote that was never captured)."""
    return f"""<!doctype html><html><head><title>Water report</title></head><body><article>
<h1>Water report</h1><p>The courier wrote that "{QUOTE}"<sup><a href="#fn1">1</a></sup>. The dam was
inspected<sup><a href="#fn2">2</a></sup>; the harbour is described in
<a href="{base}/other">an article about the harbour</a>. The authority said that "{LATER_QUOTE}"
<sup><a href="#fn3">3</a></sup>.</p>
<ol class="footnotes"><li id="fn1">Staff reporter, "River at a record low", Courier, 2025.
<a href="{base}/article">{base}/article</a></li>
<li id="fn2">Inspectors, "Dam inspection", Authority, 2025. <a href="{base}/gone">{base}/gone</a></li>
<li id="fn3">Authority, "Refilling plan", 2025. <a href="{base}/later">{base}/later</a></li></ol>
</article></body></html>""".encode()


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A home with a 200, a 500, a page that became a 404, a changed page (three captures) and a report
    with checked and unchecked citations, served over real HTTP."""
    from collector.capture.run import capture_urls
    from collector.check.run import CheckTarget, run_checks
    from collector.reports.versions import add_report

    html = {"Content-Type": "text/html; charset=utf-8"}
    pages = {path: Page(*body) if isinstance(body, tuple) else Page(body) for path, body in PAGES.items()}
    pages |= {"/gone": Page(GONE), "/broken": Page(b"<h1>Internal error</h1>", 500, html)}
    home = tmp_path_factory.mktemp("shown")
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(key, None)
    config = make_config(home)
    with LocalWeb(pages) as web:
        base = web.base_url
        web.pages["/report.html"] = Page(visual_report(base))
        capture_urls(config, [base + p for p in ("/article", "/other", "/gone", "/broken", "/img.png",
                                                  "/style.css")])
        name = "water-" + uuid.uuid4().hex[:6]
        add_report(config, base + "/report.html", name=name)
        web.pages["/article"] = Page(V2["/article"])
        web.pages["/gone"] = Page(b"<h1>Not found</h1>", 404, html)
        checks = run_checks(config, [CheckTarget(url=base + "/article", quotes=[QUOTE], report=name,
                                                 ref="1"),
                                     CheckTarget(url=base + "/gone", quotes=[], report=name, ref="2")],
                            seed=3)
        assert [c["status"] for c in checks] == ["changed", "gone"], checks
        capture_urls(config, [base + "/article"])
    sessions = connect(config.db_url)
    with running(ServerContext(config=config, sessions=sessions)) as live_base:
        yield {"live": live_base, "base": base, "report": name, "sessions": sessions}


@pytest.fixture
def look(browser: Any, shown: dict[str, Any]) -> Iterator[tuple[Any, Seen]]:
    """A tab whose console errors, uncaught exceptions and CSP violations are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page, watch(page)
    context.close()


def open_page(page: Any, seen: Seen, url: str) -> None:
    """Load ``url`` and wait for it (and its stylesheet and script) to settle; nothing may have failed and
    every piece of text on it must be readable."""
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, url
    seen.check(page)
    assert unreadable(page, MIN_CONTRAST) == [], url


def assert_readable(page: Any, selector: str) -> int:
    """Every element matching ``selector`` is visible and its text contrasts >= 4.5 with its background."""
    found = page.locator(selector)
    count = found.count()
    assert count > 0, f"nothing matches {selector}"
    for i in range(count):
        element = found.nth(i)
        seen = colours(element)
        text = element.inner_text().strip()
        assert text and element.is_visible(), (selector, i, text)
        assert seen["visibility"] == "visible" and float(seen["opacity"]) == 1.0, (text, seen)
        ratio = contrast(seen["text"], seen["background"])
        assert ratio >= MIN_CONTRAST, f"{selector} {text!r}: contrast {ratio:.2f} ({seen})"
    return count


def assert_laid_out(page: Any, *selectors: str) -> None:
    """Each selector's first element has a size, fits the viewport's width and is below the header."""
    width = page.viewport_size["width"]
    header = box(page.locator("header.site"))
    for selector in selectors:
        element = box(page.locator(selector).first)
        assert element.width > 0 and element.height > 0, (selector, element)
        assert element.x >= 0 and element.x + element.width <= width + 0.5, (selector, element, width)
        assert element.y >= header.y + header.height, (selector, element, header)


def background_class(page: Any, selector: str) -> str:
    """The hue class of the first matching element's background."""
    return hue_class(colours(page.locator(selector).first)["background"])


def test_dashboard_as_seen(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{shown['live']}/reports/{shown['report']}")
    assert_laid_out(page, "main h1", "table.dashboard", "table.dashboard .badge", "form.filters select")
    assert assert_readable(page, "table.dashboard .badge") >= 6
    unchecked = page.locator("table.dashboard .badge", has_text="not checked")
    assert unchecked.count() >= 3  # two citations' verdicts and one quote
    assert_readable(page, "table.dashboard .badge:text-is('not checked')")
    assert background_class(page, "tr[data-verdict='changed'] .badge[data-verdict='changed']") == "warning"
    assert background_class(page, "tr[data-verdict='gone'] .badge[data-verdict='gone']") == "error"
    assert background_class(page, "tr[data-verdict='changed'] .badge:text-is('found')") == "ok"
    seen.check(page)


def test_home_errors_look_different_from_successes(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, shown["live"] + "/")
    assert_laid_out(page, "main h1", ".counts", "main table")
    assert_readable(page, "main table .badge")
    assert background_class(page, ".badge:text-is('captured 200')") == "ok"
    assert background_class(page, ".badge:text-is('captured 404')") == "error"
    assert background_class(page, ".badge:text-is('captured 500')") == "error"
    seen.check(page)


def dot_times(page: Any) -> list[tuple[str, float]]:
    dots = page.locator(".axis a.dot")
    return [(dots.nth(i).get_attribute("title") or "", box(dots.nth(i)).centre) for i in range(dots.count())]


def test_timeline_dots_sit_in_time_order(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{shown['live']}/timeline?url={shown['base']}/article")
    assert_laid_out(page, "main h1", ".axis", "main table")
    axis = box(page.locator(".axis"))
    dots = dot_times(page)
    assert len(dots) == 3
    xs = [x for _, x in sorted(dots)]  # titles start with the ISO time
    assert xs == sorted(xs) and len(set(xs)) == 3, dots
    assert xs[-1] - xs[0] > axis.width / 2, (dots, axis)  # spread over the axis, not piled at its left
    assert all(axis.x <= x <= axis.x + axis.width for x in xs), (dots, axis)
    check = box(page.locator(".axis span.check").first)
    assert xs[0] < check.centre <= xs[-1] + 1  # the check came after the first capture
    ends = page.locator(".axis .end")
    assert box(ends.nth(0)).x < box(ends.nth(1)).x and box(ends.nth(1)).x + box(ends.nth(1)).width <= (
        axis.x + axis.width + 0.5)
    assert_readable(page, "main table .badge")
    seen.check(page)


def test_timeline_of_a_page_that_went_missing(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{shown['live']}/timeline?url={shown['base']}/gone")
    dots = page.locator(".axis a.dot")
    assert dots.count() == 2
    first, second = sorted(range(2), key=lambda i: dots.nth(i).get_attribute("title") or "")
    assert box(dots.nth(first)).centre < box(dots.nth(second)).centre
    assert hue_class(colours(dots.nth(first))["background"]) == "ok"
    assert hue_class(colours(dots.nth(second))["background"]) == "error"
    assert background_class(page, "main table .badge:text-is('captured 404')") == "error"
    assert background_class(page, "main table .badge:text-is('gone')") == "error"
    assert_readable(page, "main table .badge")
    seen.check(page)


def test_snapshot_shows_a_sandboxed_replay(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    first = snapshots(shown["sessions"], shown["base"] + "/article")[0]
    open_page(page, seen, f"{shown['live']}/snapshot/{first.id}")
    frame = page.locator("iframe.replay")
    assert (frame.get_attribute("sandbox") or "").split() == ["allow-top-navigation-by-user-activation"]
    assert_laid_out(page, "main h1", "main table", "pre.text", "iframe.replay")
    frame.scroll_into_view_if_needed()
    inner = page.frame_locator("iframe.replay").locator("h1")
    inner.wait_for()
    assert "River at a record low" in inner.inner_text() and inner.is_visible()
    replay = box(frame)
    assert replay.height >= 200 and replay.width >= page.viewport_size["width"] / 2, replay
    heading = box(inner)
    assert replay.x <= heading.x and heading.y >= replay.y and heading.width > 0
    seen.check(page)


def test_diff_colours_deletions_and_insertions(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{shown['live']}/diff?url={shown['base']}/article&report={shown['report']}")
    assert_laid_out(page, "main h1", "table.diff")
    assert_readable(page, "table.diff del")
    assert_readable(page, "table.diff ins")
    deleted = colours(page.locator("table.diff del").first)
    inserted = colours(page.locator("table.diff ins").first)
    assert hue_class(deleted["text"]) == "error" and hue_class(inserted["text"]) == "ok", (deleted, inserted)
    assert deleted["background"] != inserted["background"]
    assert any("monthly" in t for t in page.locator("table.diff td.right ins").all_inner_texts())
    assert box(page.locator("table.diff td.left del").first).centre < box(
        page.locator("table.diff td.right ins").first).centre  # old text on the left, new on the right
    seen.check(page)


def test_search_hits_as_seen(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{shown['live']}/search?q=harbour")
    assert_laid_out(page, "main h1", "form.filters", ".hit")
    assert page.locator(".hit").count() >= 1
    assert_readable(page, ".hit mark")
    assert_readable(page, ".hit a")
    seen.check(page)


def test_reports_list_and_replay_banner_as_seen(look: tuple[Any, Seen], shown: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, shown["live"] + "/reports")
    assert_laid_out(page, "main h1", "main table", f"main table a[href='/reports/{shown['report']}']")
    latest = snapshots(shown["sessions"], shown["base"] + "/article")[-1]
    open_page(page, seen, f"{shown['live']}/web/{latest.captured_at:%Y%m%d%H%M%S}/{latest.url}")
    assert_laid_out(page, "#archive-banner", "iframe.replay")
    assert box(page.locator("iframe.replay")).y >= box(page.locator("#archive-banner")).y + box(
        page.locator("#archive-banner")).height  # the archived page starts below the banner
    page.frame_locator("iframe.replay").locator("h1").wait_for()
    seen.check(page)


def test_no_page_scrolls_sideways_on_a_phone(browser: Any, shown: dict[str, Any]) -> None:
    """At 390 CSS pixels wide, the header wraps and wide tables scroll in their own box: the page itself
    never scrolls sideways, and the header, title and first table start inside the screen."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = watch(page)
    first = snapshots(shown["sessions"], shown["base"] + "/article")[0]
    try:
        for path in ["/", "/reports", f"/reports/{shown['report']}", f"/timeline?url={shown['base']}/article",
                     f"/snapshot/{first.id}", f"/diff?url={shown['base']}/article", "/search?q=harbour",
                     f"/web/{first.captured_at:%Y%m%d%H%M%S}/{first.url}"]:
            open_page(page, seen, shown["live"] + path)
            scroll, client = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert scroll <= client, (path, scroll, client)
            assert_laid_out(page, "main h1:visible, #archive-banner")  # the replay page hides its h1
            field = box(page.locator("header.site form.quick input"))
            assert field.width > 0 and field.x >= 0 and field.x + field.width <= client, (path, field)
            if page.locator("main table").count():
                assert box(page.locator("main table").first).x >= 0, path
    finally:
        context.close()
