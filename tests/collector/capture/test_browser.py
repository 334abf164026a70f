"""Browser capture with Debian's Chromium against a local "social web" (tests/collector/capture/socialweb.py).

One crawl captures every page of the social web through the browser, with the private-address guard
on (only the test server's own 127.0.0.1 is allowed, by ``allow_hosts``); the tests then read what it
archived: rows, WARC records, the screenshot's pixels, the page-info record, pywb's replay.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from collector.capture.run import capture_urls
from collector.cli.main import cli
from collector.config import Config
from collector.errors import CollectorError
from spiders.browsercapture import VIEWPORT
from storage.models import Capture
from tests.collector.capture import socialweb
from tests.collector.server.helpers import fetch
from tests.conftest import capture_rows, make_config, warcio_check
from tests.pywb_tool import Pywb

PAGES = {"post": "/post/1", "timeline": "/timeline", "lazy": "/lazy", "consent": "/consent",
         "never": "/never", "private": "/private", "navigate": "/navigate", "seemore": "/seemore"}


@dataclass
class Browsed:
    """What one browser crawl of the social web left in its home."""

    home: Path
    config: Config
    base: str
    results: dict[str, dict[str, Any]]

    def url(self, name: str) -> str:
        return self.base + PAGES[name]

    def rows(self) -> list[Capture]:
        return capture_rows(self.config.db_url)

    def records(self) -> list[tuple[str, str, dict[str, str], bytes, Any]]:
        """(type, target URI, WARC headers, content, HTTP headers) of every WARC record."""
        out = []
        for path in sorted((self.home / "warcs").glob("*.warc.gz")):
            with path.open("rb") as fh:
                for record in ArchiveIterator(fh):
                    out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI") or "",
                                dict(record.rec_headers.headers), record.content_stream().read(),
                                record.http_headers))
        return out

    def resource(self, urn: str, name: str) -> bytes:
        [body] = [content for kind, uri, _, content, _ in self.records()
                  if kind == "resource" and uri == urn + self.url(name)]
        return body

    def page_info(self, name: str) -> dict[str, Any]:
        return json.loads(self.resource("urn:pageinfo:", name))


@pytest.fixture(scope="module")
def browsed(social: str, tmp_path_factory: pytest.TempPathFactory) -> Browsed:
    home = tmp_path_factory.mktemp("browser") / "home"
    home.mkdir()
    config = make_config(home, browser="always", allow_private=False, allow_hosts="127.0.0.1",
                         browser_timeout=6.0, browser_scroll_steps=8)
    results = capture_urls(config, [social + path for path in PAGES.values()])
    return Browsed(home, config, social, {r["url"]: r for r in results})


pytestmark = pytest.mark.slow  # Chromium


def test_every_page_is_a_browser_capture(browsed: Browsed) -> None:
    for name in PAGES:
        result = browsed.results[browsed.url(name)]
        assert result["outcome"] == "captured", (name, result)
        assert result["mode"] == "browser"
        assert result["mode_reason"] == "--browser"


def test_post_text_loaded_by_xhr_is_the_extracted_text(browsed: Browsed) -> None:
    reply = CliRunner().invoke(cli, ["--home", str(browsed.home), "get", browsed.url("post"), "--text"])
    assert reply.exit_code == 0, reply.output
    assert socialweb.POST_TEXT % "1" in reply.output
    # the HTML the server sent has none of it: the text is what the reader saw
    [page] = [r for r in browsed.rows() if r.url == browsed.url("post")]
    assert browsed.results[browsed.url("post")]["text_sha256"] is not None
    responses = [content for kind, uri, _, content, _ in browsed.records()
                 if kind == "response" and uri == browsed.url("post")]
    assert responses and all(b"river port" not in body for body in responses)
    assert page.mode == "browser"


def test_sub_resources_are_rows_of_their_own_tied_to_the_page(browsed: Browsed) -> None:
    rows = browsed.rows()
    [page] = [r for r in rows if r.url == browsed.url("post")]
    subs = {r.url: r for r in rows if r.page_id == page.id}
    base = browsed.base
    for url in (f"{base}/img/post-1-a.png", f"{base}/img/post-1-b.png", f"{base}/app.js",
                f"{base}/api/post/1"):
        assert url in subs, sorted(subs)
        assert subs[url].mode == "browser" and subs[url].outcome == "captured"
        assert subs[url].http_status == 200
    image = [content for kind, uri, _, content, _ in browsed.records()
             if kind == "response" and uri == f"{base}/img/post-1-a.png"]
    assert image and image[0] == socialweb.png("/img/post-1-a.png")


def test_decoded_bodies_say_so_in_their_headers(browsed: Browsed) -> None:
    [(headers, body)] = [(http, content) for kind, uri, _, content, http in browsed.records()
                         if kind == "response" and uri == browsed.base + "/app.js"][:1]
    assert headers.get_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert headers.get_header("Content-Encoding") is None
    assert headers.get_header("Content-Length") == str(len(body))
    assert body == socialweb.APP_JS.encode()


def _pixel(png: bytes, x: int, y: int) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    r, g, b, *_ = image.convert("RGB").getpixel((x, y))
    return r, g, b


def _near(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(colour, expected, strict=True))


def test_screenshot_shows_the_post(browsed: Browsed) -> None:
    png = browsed.resource("urn:screenshot:", "post")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _near(_pixel(png, 300, 100), socialweb.RED)
    # tied to the page's response, never replacing it
    [warc] = [h for kind, uri, h, _, _ in browsed.records()
              if kind == "resource" and uri == "urn:screenshot:" + browsed.url("post")]
    [page] = [h for kind, uri, h, _, _ in browsed.records()
              if kind == "response" and uri == browsed.url("post")]
    assert warc["WARC-Concurrent-To"] == page["WARC-Record-ID"]


def test_the_screenshot_is_of_the_full_page_beyond_the_viewport(browsed: Browsed) -> None:
    info = browsed.page_info("timeline")
    image = Image.open(io.BytesIO(browsed.resource("urn:screenshot:", "timeline")))
    assert image.height > VIEWPORT["height"]  # the timeline is taller than the window
    assert image.size == (VIEWPORT["width"], info["behaviours"]["scroll"]["height"])


def test_cookie_banner_is_dismissed_before_the_screenshot(browsed: Browsed) -> None:
    info = browsed.page_info("consent")
    assert info["behaviours"]["consent_clicked"] == ["Accept all"]
    # the banner covered the red post in blue: the red shows
    assert _near(_pixel(browsed.resource("urn:screenshot:", "consent"), 300, 100), socialweb.RED)


def test_see_more_is_expanded_on_a_page_that_fits_the_viewport(browsed: Browsed) -> None:
    info = browsed.page_info("seemore")
    assert info["behaviours"]["consent_clicked"] == []
    assert info["behaviours"]["scroll"]["steps"] == 0  # in view: nothing to scroll
    assert info["behaviours"]["see_more_clicked"] == ["See more"]
    # the text the click fetched was waited for: in the DOM, and its request recorded
    assert socialweb.SEE_MORE_REST.encode() in browsed.resource("urn:dom:", "seemore")
    rows = browsed.rows()
    [page] = [r for r in rows if r.url == browsed.url("seemore")]
    assert f"{browsed.base}/api/rest" in {r.url for r in rows if r.page_id == page.id}


def test_infinite_scroll_loads_the_timeline(browsed: Browsed) -> None:
    info = browsed.page_info("timeline")
    assert info["behaviours"]["scroll"]["page_grew"] >= 1
    rows = browsed.rows()
    [page] = [r for r in rows if r.url == browsed.url("timeline")]
    pages = sorted(r.url for r in rows if r.page_id == page.id and "/api/timeline" in r.url)
    assert pages == [f"{browsed.base}/api/timeline?page={n}" for n in range(4)]
    assert b"timeline item 11" in browsed.resource("urn:dom:", "timeline")


def test_lazy_images_are_loaded(browsed: Browsed) -> None:
    rows = browsed.rows()
    [page] = [r for r in rows if r.url == browsed.url("lazy")]
    subs = {r.url for r in rows if r.page_id == page.id}
    assert {f"{browsed.base}/img/lazy-native.png", f"{browsed.base}/img/lazy-observed.png"} <= subs


def test_a_page_that_never_settles_is_cut_off_and_kept(browsed: Browsed) -> None:
    result = browsed.results[browsed.url("never")]
    assert result["outcome"] == "captured"
    assert "browser_timeout" in (result["reason_detail"] or "")
    info = browsed.page_info("never")
    assert any("browser_timeout" in note for note in info["notes"])
    assert info["pending_requests"] >= 1
    assert b"never settles" in browsed.resource("urn:dom:", "never")


def test_private_addresses_are_refused_and_recorded(browsed: Browsed) -> None:
    refused = {item["url"]: item["reason"] for item in browsed.page_info("private")["requests_refused"]}
    assert "http://10.255.255.1/secret" in refused
    assert "http://169.254.169.254/latest/meta-data" in refused
    assert all("non-public" in reason for reason in refused.values())
    assert not [r for r in browsed.rows() if "10.255.255.1" in r.url or "169.254" in r.url]


def test_navigation_away_after_load_is_blocked(browsed: Browsed) -> None:
    info = browsed.page_info("navigate")
    assert f"{browsed.base}/post/9" in info["navigations_blocked"]
    assert info["final_url"] == browsed.url("navigate")
    assert not [r for r in browsed.rows() if r.url.endswith("/post/9")]


def test_the_warc_passes_warcio_check(browsed: Browsed) -> None:
    warcio_check(browsed.home)


def test_pywb_replays_the_page_and_its_images(browsed: Browsed, pywb: Pywb) -> None:
    pywb.manager("init", "social")
    pywb.manager("add", "social", *map(str, sorted((browsed.home / "warcs").glob("*.warc.gz"))))
    index = "\n".join(pywb.index("social"))
    assert "urn:screenshot:" in index  # indexed under their own URIs
    [page] = [r for r in browsed.rows() if r.url == browsed.url("post")]
    stamp = page.captured_at.strftime("%Y%m%d%H%M%S")
    with pywb.serving() as base:
        reply = fetch(f"{base}/social/{stamp}id_/{browsed.url('post')}")
        assert reply.status == 200
        assert reply.body.startswith(b"<!doctype html>")  # the page, not a screenshot or JSON
        image = fetch(f"{base}/social/{stamp}id_/{browsed.base}/img/post-1-a.png")
        assert image.status == 200 and image.body == socialweb.png("/img/post-1-a.png")
        framed = fetch(f"{base}/social/{stamp}mp_/{browsed.url('post')}")
        assert framed.status == 200 and b"app.js" in framed.body


def test_auto_mode_takes_the_browser_for_shells_only(social: str, home: Path) -> None:
    config = make_config(home, browser="auto", browser_timeout=6.0, browser_scroll_steps=2)
    results = capture_urls(config, [social + "/post/2", social + "/static"])
    by_mode = sorted((r["url"].removeprefix(social), r["mode"], r["mode_reason"]) for r in results)
    assert by_mode == [("/post/2", "browser", "js-shell: noscript"), ("/post/2", "http", None),
                       ("/static", "http", None)]


@pytest.mark.parametrize("browser", ["always", "auto"])
def test_a_missing_chromium(browser: str, social: str, home: Path,
                            capfd: pytest.CaptureFixture[str]) -> None:
    config = make_config(home, browser=browser, browser_executable=str(home / "no-chromium"))
    if browser == "always":
        with pytest.raises(CollectorError, match=r"browser_executable .* was not found"):
            capture_urls(config, [social + "/static"])
        return
    [result] = capture_urls(config, [social + "/post/3"])  # a shell, captured over HTTP only
    assert result["outcome"] == "captured" and result["mode"] == "http"
    assert capfd.readouterr().err.count("browser capture unavailable") == 1


def test_the_browser_is_restarted_after_n_pages(social: str, home: Path) -> None:
    config = make_config(home, browser="always", browser_restart_pages=2, browser_concurrency=1,
                         browser_scroll_steps=1)
    urls = [f"{social}/bench/{i}" for i in range(5)]
    results = capture_urls(config, urls)
    assert [r["outcome"] for r in results] == ["captured"] * 5
    browsed = Browsed(home, config, social, {})
    launches = [json.loads(content)["browser_launch"] for kind, uri, _, content, _ in browsed.records()
                if kind == "resource" and uri.startswith("urn:pageinfo:")]
    assert sorted(launches) == [1, 1, 2, 2, 3]
