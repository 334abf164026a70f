"""Interface details found by trying it (issue 17), in Debian's Chromium: the search counts and pages its
hits and offers date pickers and report/feed choices; a long source folds; long URLs wrap between their
parts; the citation table stacks on a 390-px phone screen; a PDF memento keeps the banner; the quote
outline in the diff is one box per quote; what ignore rules leave out is struck through, readable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fpdf import FPDF

from collector.check.rules import add_ignore_rule
from collector.demo.localweb import LocalWeb, Page
from collector.server import ServerContext
from storage.database import connect
from storage.queries import snapshots
from tests.collector.server import test_browser
from tests.collector.server.helpers import running
from tests.collector.server.test_browser import CHROMIUM, assert_laid_out, assert_readable, open_page
from tests.collector.server.visual import CSP_LISTENER, Seen, box, watch
from tests.conftest import make_config

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium not installed (apt-get install chromium)")]

browser = test_browser.browser  # the module's Chromium (a fixture)

QUOTE = "the river reached one of its lowest levels in recent decades"
ARTICLE = """<!doctype html><html><head><meta charset="utf-8"><title>River at a record low</title></head>
<body><article><h1>River at a record low</h1><p class="dateline">Updated: {day} June 2025</p>
<p>Officials said on Tuesday that {quote}, according to readings from the monitoring network. Farmers
downstream said that some irrigation channels had run low and that crops were at risk.</p>
<p>The extraction limits announced last year would take time to show an effect, the ministry said.</p>
</article></body></html>"""
ESTUARY = """<!doctype html><html><head><title>Estuary note {n}</title></head><body><article><h1>Estuary
note {n}</h1><p>Note {n} on the estuary: the tide gauges, the dredging schedule and the ferry crossing were
discussed at length by the harbour board, which published its minutes the same week.</p></article>
</body></html>"""
NOTES = 23  # estuary pages: two pages of results at 20 a page
LONG_PATH = "/archive/2025/06/03/regional-news/a-very-long-slug-about-the-river-the-harbour-and-the-dam"
LONG_QUERY = "?utm_campaign=none&edition=regional&id=1234567890"
LONG_SOURCE = ("Regional Water Authority, Directorate of Hydrological Monitoring and Reservoir Management, "
               "\"Quarterly bulletin on river levels, reservoir stocks and irrigation allocations\", 2025")


def _pdf() -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 6, "Reservoir bulletin. The reservoir will be refilled by the spring.")
    return bytes(pdf.output())


def _report(base: str) -> bytes:
    long_url = f"{base}{LONG_PATH}{LONG_QUERY}"
    return f"""<!doctype html><html><head><title>Details report</title></head><body><article>
<h1>Details report</h1><p>The courier wrote that "{QUOTE}"<sup><a href="#fn1">1</a></sup>. The bulletin
says so too<sup><a href="#fn2">2</a></sup>, and so does the PDF<sup><a href="#fn3">3</a></sup>.</p>
<ol class="footnotes"><li id="fn1">Staff reporter, "River at a record low", Courier, 2025.
<a href="{base}/article">{base}/article</a></li>
<li id="fn2">{LONG_SOURCE}. <a href="{long_url}">{long_url}</a></li>
<li id="fn3">Authority, "Reservoir bulletin", 2025. <a href="{base}/bulletin.pdf">{base}/bulletin.pdf</a></li>
</ol></article></body></html>""".encode()


@pytest.fixture(scope="module")
def detailed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A report citing an article (checked after one word of its quote and its date line changed, with
    an ignore rule for the date line), a page with a long source and URL, a PDF; 23 estuary notes."""
    from collector.capture.run import capture_urls
    from collector.check.run import CheckTarget, run_checks
    from collector.reports.versions import add_report

    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(key, None)
    home = tmp_path_factory.mktemp("details")
    config = make_config(home)
    pages = {"/article": Page(ARTICLE.format(day=3, quote=QUOTE).encode()),
             LONG_PATH: Page(ESTUARY.format(n="long").encode()),
             "/bulletin.pdf": Page(_pdf(), headers={"Content-Type": "application/pdf"})}
    pages |= {f"/estuary/{n}": Page(ESTUARY.format(n=n).encode()) for n in range(NOTES)}
    with LocalWeb(pages) as web:
        base = web.base_url
        web.pages["/report.html"] = Page(_report(base))
        captured = capture_urls(config, [base + p + (LONG_QUERY if p == LONG_PATH else "") for p in pages])
        assert all(r["outcome"] == "captured" for r in captured), captured
        name = "details-" + uuid.uuid4().hex[:6]
        add_report(config, base + "/report.html", name=name)
        sessions = connect(config.db_url)
        add_ignore_rule(sessions, scope="global", target=None, kind="regex", pattern=r"^Updated: .*$")
        web.pages["/article"] = Page(ARTICLE.format(day=4, quote=QUOTE.replace("decades", "years")).encode())
        checks = run_checks(config, [CheckTarget(url=base + "/article", quotes=(QUOTE,), report=name,
                                                 ref="1")], seed=5)
        assert [c["status"] for c in checks] == ["changed"], checks
    with running(ServerContext(config=config, sessions=sessions)) as live:
        yield {"live": live, "base": base, "report": name, "sessions": sessions}


def _context(browser: Any, width: int) -> tuple[Any, Any, Seen]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page, watch(page)


@pytest.fixture
def wide(browser: Any) -> Iterator[tuple[Any, Seen]]:
    context, page, seen = _context(browser, 1280)
    yield page, seen
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[tuple[Any, Seen]]:
    context, page, seen = _context(browser, 390)
    yield page, seen
    context.close()


def test_search_counts_pages_and_offers_choices(wide: tuple[Any, Seen], detailed: dict[str, Any]) -> None:
    page, seen = wide
    open_page(page, seen, f"{detailed['live']}/search?q=estuary")
    assert page.locator("input[name='from']").get_attribute("type") == "date"
    assert page.locator("input[name='to']").get_attribute("type") == "date"
    options = page.locator("select[name='report'] option").all_inner_texts()
    assert detailed["report"] in options and options[0] == "all"
    assert page.locator("select[name='feed']").count() == 1
    total = NOTES + 1  # the notes and the long-URL page (the same text shape)
    assert page.locator("p.count b").inner_text() == str(total)
    assert "page 1 of 2" in page.locator("p.count").inner_text()
    assert page.locator(".hit").count() == 20
    assert_readable(page, "nav.pager a")
    assert_laid_out(page, "main h1", "form.filters", "p.count", "nav.pager")
    assert box(page.locator("p.count")).y < box(page.locator(".hit").first).y  # the count above the hits
    page.locator("nav.pager a[rel='next']").click()
    page.wait_for_url("**page=2**")
    assert page.locator(".hit").count() == total - 20
    assert "page 2 of 2" in page.locator("p.count").inner_text()
    assert page.locator("nav.pager a[rel='prev']").count() == 1
    # a date picker's day includes the whole day; a report chosen from the list narrows the hits
    page.fill("input[name='to']", "2000-01-01")
    page.locator("form.filters button").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("p.muted", has_text="No match").count() == 1
    open_page(page, seen, f"{detailed['live']}/search?q=estuary")
    page.select_option("select[name='report']", detailed["report"])
    page.locator("form.filters button").click()
    page.wait_for_url(f"**report={detailed['report']}**")
    assert page.locator("p.count b").inner_text() == "1"  # the cited long-URL page only
    seen.check(page)


def test_long_source_folds_and_url_wraps_between_parts(wide: tuple[Any, Seen],
                                                       detailed: dict[str, Any]) -> None:
    page, seen = wide
    open_page(page, seen, f"{detailed['live']}/reports/{detailed['report']}")
    folded = page.locator("table.dashboard details.source")
    assert folded.count() >= 1
    folded = page.locator("tr[data-ref='2'] details.source")
    rest = folded.locator(".rest")
    assert not rest.is_visible()
    summary = box(folded.locator("summary"))
    folded.locator("summary").click()
    assert rest.is_visible() and "irrigation allocations" in rest.inner_text()
    assert box(folded).height > summary.height  # opened below its summary
    url = page.locator("tr[data-ref='2'] span.url")
    assert url.locator("wbr").count() >= 10
    assert_laid_out(page, "tr[data-ref='2'] span.url")
    seen.check(page)


def test_citation_table_stacks_on_a_phone(phone: tuple[Any, Seen], detailed: dict[str, Any]) -> None:
    page, seen = phone
    open_page(page, seen, f"{detailed['live']}/reports/{detailed['report']}")
    table = page.locator("table.dashboard")
    widths = table.evaluate("t => [t.scrollWidth, t.parentElement.scrollWidth, "
                            "document.documentElement.scrollWidth]")
    assert max(widths) <= 390, widths  # no sideways scrolling, not even inside the table's box
    row = page.locator("table.dashboard tr[data-ref='2']")
    cells = row.locator("td")
    tops = [box(cells.nth(i)).y for i in range(cells.count())]
    assert tops == sorted(tops) and len(set(tops)) == len(tops), tops  # one cell under the other
    label = cells.nth(3).evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"URL: "', label  # each stacked cell says what it is
    url = box(row.locator("span.url"))
    assert url.x >= 0 and url.x + url.width <= 390 and url.height > 30, url  # wrapped, inside the screen
    assert_readable(page, "table.dashboard .badge")
    seen.check(page)


def test_quote_outline_is_one_box_and_ignored_text_is_struck(wide: tuple[Any, Seen],
                                                            detailed: dict[str, Any]) -> None:
    page, seen = wide
    live, base, name = detailed["live"], detailed["base"], detailed["report"]
    open_page(page, seen, f"{live}/diff?url={base}/article&report={name}")
    marks = page.locator("table.diff td.left mark")
    assert marks.count() == 1  # the quote, with the changed word inside it
    assert marks.first.locator("del").inner_text() == "decades"
    rects = marks.first.evaluate("m => m.getClientRects().length")
    assert rects == 1, rects  # one outlined box
    assert_readable(page, "s.ignored")
    struck = page.locator("table.diff td.left s.ignored")
    assert struck.count() == 1 and struck.inner_text().startswith("Updated:")
    decoration = struck.evaluate("s => getComputedStyle(s).textDecorationLine")
    assert "line-through" in decoration
    assert "identical" not in page.locator(".ignored-rules").inner_text()  # the quote's word still differs
    seen.check(page)


def test_pdf_memento_keeps_the_banner(wide: tuple[Any, Seen], detailed: dict[str, Any]) -> None:
    page, seen = wide
    pdf = next(c for c in snapshots(detailed["sessions"], detailed["base"] + "/bulletin.pdf"))
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if "id_/" in r.url else None)
    open_page(page, seen, f"{detailed['live']}/web/{pdf.captured_at:%Y%m%d%H%M%S}/{pdf.url}")
    assert_laid_out(page, "#archive-banner", "iframe.replay.pdf")
    banner, frame = box(page.locator("#archive-banner")), box(page.locator("iframe.replay.pdf"))
    assert frame.y >= banner.y + banner.height and frame.height >= 200, (banner, frame)
    assert page.locator("iframe.replay.pdf").get_attribute("sandbox") is None
    page.wait_for_timeout(0)
    pdf_answers = [r for r in answers if r.url.endswith("/bulletin.pdf")]
    assert pdf_answers and pdf_answers[0].status == 200
    headers = pdf_answers[0].all_headers()
    assert headers["content-type"] == "application/pdf"
    assert "sandbox" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert_readable(page, "#archive-banner a")
    seen.check(page)
