"""What a person sees of a replayed page with its requisites, in a real browser (Playwright driving
Debian's Chromium): the article's photo has a size and shows its own pixels, its stylesheet applies,
the screenshot of a browser capture is shown beside the replay, and nothing errs in the console."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from collector.capture.run import stream_captures
from collector.server import ServerContext
from storage.database import connect
from storage.queries import captures_by_ids
from tests.collector.capture import requisite_site
from tests.collector.capture.requisite_site import PHOTO_RGB
from tests.collector.server.helpers import running
from tests.collector.server.test_browser import CHROMIUM, launch_browser, open_tab
from tests.collector.server.test_requisites_served import add_screenshot
from tests.collector.server.visual import CSP_LISTENER, box, watch
from tests.conftest import make_config

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium not installed (apt-get install chromium)")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    proc, site = requisite_site.start()
    try:
        home = tmp_path_factory.mktemp("visual")
        config = make_config(home)
        pages: list[dict[str, Any]] = []
        url = f"{site}/clean/8"
        stream_captures(config, [url], on_result=pages.append)
        sessions = connect(config.db_url)
        page = captures_by_ids(sessions, [pages[0]["id"]])[0]
        add_screenshot(config.warc_dir, page, url)
        with running(ServerContext(config=config, sessions=sessions)) as base:
            yield {"base": base, "url": url, "page": page}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


browser = pytest.fixture(scope="module", name="browser")(launch_browser)


@pytest.fixture
def tab(browser: Any, served: dict[str, Any]) -> Iterator[tuple[Any, list[str]]]:
    """A tab whose every request outside the archive's origin is aborted and recorded."""
    for page, escaped in open_tab(browser, served["base"]):
        page.context.add_init_script(CSP_LISTENER)
        yield page, escaped


def _pixels(png: bytes) -> list[tuple[int, int, int]]:
    from PIL import Image  # Pillow (fpdf2's dependency in the test extra)

    image = Image.open(io.BytesIO(png)).convert("RGB")
    raw = image.tobytes()
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]


def test_the_replayed_article_shows_its_photo(served: dict[str, Any], tab: tuple[Any, list[str]]) -> None:
    page, escaped = tab
    seen = watch(page)
    stamp = served["page"].captured_at.strftime("%Y%m%d%H%M%S")
    page.goto(f"{served['base']}/web/{stamp}/{served['url']}", wait_until="networkidle")
    frame = page.frame_locator("iframe.replay")
    photo = frame.locator("#photo")
    photo.wait_for()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 40  # the archived 40x30 PNG
    seen_box = box(photo)
    assert (seen_box.width, seen_box.height) == (160, 120)  # the archived stylesheet sized it
    pixels = _pixels(photo.screenshot())
    red = sum(1 for p in pixels if abs(p[0] - PHOTO_RGB[0]) < 8 and p[1] < 40 and p[2] < 50)
    assert red > 0.9 * len(pixels), f"{red} of {len(pixels)} pixels are the photo's red"
    background = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundImage")
    assert "/img/paper.png" in background and f"{served['base']}/web/" in background
    assert escaped == []
    seen.check(page)


def test_the_snapshot_page_shows_the_screenshot(served: dict[str, Any], tab: tuple[Any, list[str]]) -> None:
    page, escaped = tab
    seen = watch(page)
    page.goto(f"{served['base']}/snapshot/{served['page'].id}", wait_until="networkidle")
    shot = page.locator("#screenshot")
    assert shot.evaluate("img => img.complete && img.naturalWidth") == 64
    shown = box(shot)
    assert shown.width > 0 and shown.height > 0
    pixels = _pixels(shot.screenshot())
    green = sum(1 for p in pixels if p[0] < 40 and 140 < p[1] < 180 and p[2] < 90)
    assert green > 0.8 * len(pixels)
    assert page.locator("table.requisites").count() == 1
    assert escaped == []
    seen.check(page)
