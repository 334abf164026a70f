"""The ledger seal as a person sees it in Chromium: on the snapshot page, the timeline and the report's
dashboard, a capture covered by a signed checkpoint says "sealed #N" in green with the checkpoint's
number and time, one after the last signed checkpoint says "not sealed yet" in grey, one recorded with
the ledger off says "no ledger entry" in amber; readable (WCAG >= 4.5), no console error, no CSP
violation."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from collector.demo.localweb import LocalWeb, Page
from collector.evidence.keys import create_key
from collector.server import ServerContext
from storage.database import connect
from storage.ledger import checkpoints
from storage.queries import snapshots
from tests.collector.server.helpers import running
from tests.collector.server.site import OTHER, PAGES
from tests.collector.server.test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    assert_laid_out,
    assert_readable,
    background_class,
    browser,
    open_page,
)
from tests.collector.server.visual import CSP_LISTENER, Seen, watch
from tests.conftest import make_config

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium not installed (apt-get install chromium)")]


def _report(base: str) -> bytes:
    return f"""<!doctype html><html><head><title>Sealed report</title></head><body><article>
<h1>Sealed report</h1><p>The river<sup><a href="#fn1">1</a></sup>, the harbour<sup><a href="#fn2">2</a>
</sup> and the unsealed page<sup><a href="#fn3">3</a></sup>.</p><ol class="footnotes">
<li id="fn1">Courier, "River at a record low", 2025. <a href="{base}/article">{base}/article</a></li>
<li id="fn2">Courier, "Harbour story", 2025. <a href="{base}/other">{base}/other</a></li>
<li id="fn3">Courier, "Unledgered", 2025. <a href="{base}/plain">{base}/plain</a></li></ol>
</article></body></html>""".encode()


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """/article and /other captured in a run with the archive key (sealed), /article again in a run
    without it (its checkpoint unsigned: not sealed yet), /plain with the ledger off (no entry)."""
    from collector.capture.run import capture_urls
    from collector.reports.versions import add_report

    home = tmp_path_factory.mktemp("sealed")
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(key, None)
    config = make_config(home)
    pages = {path: Page(*body) if isinstance(body, tuple) else Page(body) for path, body in PAGES.items()}
    pages["/plain"] = Page(OTHER.replace(b"Harbour story", b"Unledgered page"))
    with LocalWeb(pages) as web:
        base = web.base_url
        web.pages["/report.html"] = Page(_report(base))
        key_path = config.signing_key_path
        create_key(key_path)
        name = "sealed-" + uuid.uuid4().hex[:6]
        add_report(config, base + "/report.html", name=name)
        capture_urls(config, [base + "/article", base + "/other"])  # checkpoint signed at its end
        sessions = connect(config.db_url)
        with sessions() as session:
            point = checkpoints(session)[-1]
        assert point.signature is not None
        key_path.rename(key_path.with_suffix(".away"))
        capture_urls(config, [base + "/article"])  # its checkpoint unsigned
        key_path.with_suffix(".away").rename(key_path)
        capture_urls(make_config(home, ledger=False), [base + "/plain"])
    with running(ServerContext(config=config, sessions=sessions)) as live_base:
        yield {"live": live_base, "base": base, "report": name, "sessions": sessions,
               "checkpoint": point}
    sessions.kw["bind"].dispose()


@pytest.fixture
def look(browser: Any, sealed: dict[str, Any]) -> Iterator[tuple[Any, Seen]]:  # noqa: F811
    """A tab whose console errors, uncaught exceptions and CSP violations are recorded (as
    test_browser's ``look``, on this module's archive)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page, watch(page)
    context.close()


def _captured(sealed: dict[str, Any], path: str) -> list[Any]:
    return [c for c in snapshots(sealed["sessions"], sealed["base"] + path) if c.outcome == "captured"]


def test_a_sealed_snapshot_names_its_checkpoint(look: tuple[Any, Seen], sealed: dict[str, Any]) -> None:
    page, seen = look
    point = sealed["checkpoint"]
    first = _captured(sealed, "/article")[0]
    open_page(page, seen, f"{sealed['live']}/snapshot/{first.id}")
    assert_laid_out(page, "main h1", "p.ledger", "p.ledger .badge")
    badge = page.locator("p.ledger .badge[data-seal='sealed']")
    assert badge.inner_text().strip() == f"sealed #{point.id}"
    assert background_class(page, "p.ledger .badge") == "ok"
    line = page.locator("p.ledger").inner_text()
    assert f"signed checkpoint {point.id} of {point.created_at:%Y-%m-%d %H:%M:%S}Z" in line, line
    assert_readable(page, "p.ledger .badge")
    assert box_above(page, "p.ledger", "main table")  # said before the details, not buried below
    seen.check(page)


def _snapshot_seal(page: Any, seen: Seen, sealed: dict[str, Any], capture: Any) -> tuple[str, str, str]:
    """The snapshot page's ledger badge: (data-seal, its text, the hue of its background); readable."""
    open_page(page, seen, f"{sealed['live']}/snapshot/{capture.id}")
    badge = page.locator("p.ledger .badge")
    assert_readable(page, "p.ledger .badge")
    return (badge.get_attribute("data-seal") or "", badge.inner_text().strip(),
            background_class(page, "p.ledger .badge"))


def test_an_unsealed_and_an_unledgered_snapshot(look: tuple[Any, Seen], sealed: dict[str, Any]) -> None:
    page, seen = look
    later = _captured(sealed, "/article")[-1]
    assert _snapshot_seal(page, seen, sealed, later) == ("pending", "not sealed yet", "neutral")
    plain = _captured(sealed, "/plain")[0]
    assert _snapshot_seal(page, seen, sealed, plain) == ("none", "no ledger entry", "warning")
    seen.check(page)


def test_the_timeline_marks_each_capture(look: tuple[Any, Seen], sealed: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{sealed['live']}/timeline?url={sealed['base']}/article")
    badges = page.locator("main table .badge.seal")
    assert badges.count() == 2
    rows = page.locator("main table tbody tr")
    # in capture order (the capture id of each row's details link: two captures can share a minute)
    ids_and_seals = sorted((int((rows.nth(i).locator("a[href^='/snapshot/']").first
                                 .get_attribute("href") or "").rsplit("/", 1)[1]),
                            rows.nth(i).locator(".badge.seal").get_attribute("data-seal"))
                           for i in range(rows.count()) if rows.nth(i).locator(".badge.seal").count())
    assert [s for _, s in ids_and_seals] == ["sealed", "pending"]  # the older one is sealed
    assert background_class(page, "main table .badge[data-seal='sealed']") == "ok"
    assert_readable(page, "main table .badge.seal")
    seen.check(page)


def test_the_dashboard_has_a_sealed_column(look: tuple[Any, Seen], sealed: dict[str, Any]) -> None:
    page, seen = look
    open_page(page, seen, f"{sealed['live']}/reports/{sealed['report']}")
    headers = page.locator("table.dashboard thead th").all_inner_texts()
    column = headers.index("sealed")
    cells = page.locator(f"table.dashboard tbody tr td:nth-child({column + 1})").all_inner_texts()
    # the latest capture of each citation: /article's second (unsigned run), /other, /plain
    assert sorted(c.strip() for c in cells) == ["no ledger entry", "not sealed yet",
                                                f"sealed #{sealed['checkpoint'].id}"]
    assert background_class(page, "table.dashboard .badge[data-seal='sealed']") == "ok"
    assert_readable(page, "table.dashboard .badge.seal")
    seen.check(page)


def box_above(page: Any, upper: str, lower: str) -> bool:
    from tests.collector.server.visual import box

    top, below = box(page.locator(upper).first), box(page.locator(lower).first)
    return top.y + top.height <= below.y + 0.5
