"""The web interface over real HTTP: every page as HTML and as JSON, on the captured, reported and
checked world."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import lxml.html
import pytest

from tests.collector.server.helpers import Reply, fetch
from tests.collector.server.site import QUOTE

JSON = {"Accept": "application/json"}


def page(url: str) -> tuple[Reply, Any]:
    reply = fetch(url)
    assert reply.status == 200, reply.text[:500]
    assert reply.header("content-type").startswith("text/html")
    return reply, lxml.html.document_fromstring(reply.body)


def data(url: str, **headers: str) -> Any:
    reply = fetch(url, headers=headers or JSON)
    assert reply.status == 200, reply.text[:500]
    assert reply.header("content-type") == "application/json"
    return json.loads(reply.body)


def test_home_counts_latest_captures_and_verdict_changes(live: str, world: dict[str, Any]) -> None:
    reply, doc = page(live + "/")
    info = data(live + "/index.json")
    assert info == data(live + "/", Accept="application/json")
    assert info["counts"]["captures"] >= 8 and info["counts"]["reports"] == 1
    assert info["counts"]["checks"] == 3 and info["counts"]["texts"] >= 4
    assert info["latest_captures"][0]["captured_at"] >= info["latest_captures"][-1]["captured_at"]
    changed = {c["url"]: c for c in info["verdict_changes"]}
    assert changed[world["base"] + "/article"]["status"] == "changed"
    assert "Latest verdict changes" in reply.text and doc.xpath("//span[@data-verdict='changed']")
    assert reply.header("content-security-policy").startswith("default-src 'self'")


def test_reports_list_and_dashboard(live: str, world: dict[str, Any]) -> None:
    name = world["report"]
    listed = data(live + "/reports.json")["reports"]
    assert [r["report"] for r in listed] == [name]
    _, doc = page(live + "/reports")
    assert doc.xpath(f"//a[@href='/reports/{name}']")
    info = data(f"{live}/reports/{name}.json")
    by_url = {c["url"]: c for c in info["citations"] if c["url"]}
    article = by_url[world["base"] + "/article"]
    assert article["verdict"] == "changed" and article["kind"]
    assert article["quotes"][0]["text"] == QUOTE and article["quotes"][0]["archived"] is True
    assert article["first_capture"]["captured_at"] < article["latest_capture"]["captured_at"]
    assert by_url[world["base"] + "/hostile"]["verdict"] == "unchanged"
    _, doc = page(f"{live}/reports/{name}")
    rows = doc.xpath("//table[contains(@class, 'dashboard')]/tbody/tr")
    assert len(rows) == len(info["citations"])
    [row] = [r for r in rows if world["base"] + "/article" in r.text_content()]
    assert row.get("data-verdict") == "changed"
    assert row.xpath(".//span[@data-verdict='changed' and contains(@class, 'warn')]")
    links = {a.get("class"): a.get("href") for a in row.xpath(".//a")}
    assert links["snapshot"].startswith("/web/") and links["diff"].startswith("/diff?")
    assert links["timeline"].startswith("/timeline?url=")


def test_dashboard_filter_by_verdict(live: str, world: dict[str, Any]) -> None:
    name = world["report"]
    changed = data(f"{live}/reports/{name}.json?verdict=changed")
    assert [c["verdict"] for c in changed["citations"]] == ["changed"]
    _, doc = page(f"{live}/reports/{name}?verdict=unchanged")
    verdicts = {r.get("data-verdict") for r in doc.xpath("//tbody/tr")}
    assert verdicts == {"unchanged"}
    assert fetch(f"{live}/reports/nope").status == 404


def test_timeline_marks_changes(live: str, world: dict[str, Any]) -> None:
    url = world["base"] + "/article"
    info = data(f"{live}/timeline.json?url={quote(url)}")
    captured = [c for c in info["captures"] if c["outcome"] == "captured"]
    assert len(captured) == 2 and captured[1]["text_changed"] and captured[1]["payload_changed"]
    assert [c["status"] for c in info["checks"]] == ["changed"]
    _, doc = page(f"{live}/timeline?url={quote(url)}")
    dots = doc.xpath("//div[@class='axis']/a")
    assert len(dots) == len(info["captures"])
    assert dots[0].get("href") == f"/web/{captured[0]['timestamp']}/{url}"
    assert doc.xpath("//div[@class='axis']/span[contains(@class, 'check')]")
    assert fetch(f"{live}/timeline?url={quote('http://nothing.test/x')}").status == 404


def test_snapshot_page(live: str, world: dict[str, Any]) -> None:
    url = world["base"] + "/article"
    first = data(f"{live}/timeline.json?url={quote(url)}")["captures"][0]
    info = data(f"{live}/snapshot/{first['id']}.json")
    assert info["capture"]["sha256"] == first["sha256"]
    assert QUOTE in info["text"]["text"] and info["headers"].startswith("HTTP/")
    # a plain page fetch has no metadata record since the batched archive writer (its outcome is in the text)
    assert {r["type"] for r in info["records"]} >= {"response", "request"}
    reply, doc = page(f"{live}/snapshot/{first['id']}")
    assert first["sha256"] in reply.text and first["warc_file"] in reply.text
    [frame] = doc.xpath("//iframe")
    assert "if_/" in frame.get("src") and "allow-scripts" not in frame.get("sandbox")
    warc = fetch(f"{live}/snapshot/{first['id']}.warc.gz")
    assert warc.status == 200 and warc.body[:2] == b"\x1f\x8b"
    assert fetch(f"{live}/snapshot/999999").status == 404


def test_diff_side_by_side_with_quote(live: str, world: dict[str, Any]) -> None:
    url = world["base"] + "/article"
    name = world["report"]
    info = data(f"{live}/diff.json?url={quote(url)}&report={name}")
    assert info["a"]["captured_at"] < info["b"]["captured_at"] and not info["identical"]
    assert info["quotes"] == [{"text": QUOTE, "in_a": True, "in_b": False,
                               "similarity_b": info["quotes"][0]["similarity_b"],
                               "closest_b": info["quotes"][0]["closest_b"]}]
    changed = [r for r in info["rows"] if r["op"] != "equal"]
    assert changed and any(s[2] == "quote" for r in changed for s in r["left_spans"])
    _, doc = page(f"{live}/diff?a={info['a']['id']}&b={info['b']['id']}&report={name}")
    marks = [m.text_content() for m in doc.xpath("//td[@class='left']//mark")]
    assert QUOTE in "".join(marks)  # marked in pieces, around the deleted words
    assert doc.xpath("//td[@class='left']//del") and doc.xpath("//td[@class='right']//ins")
    assert fetch(f"{live}/diff").status == 400


def test_search_with_filters(live: str, world: dict[str, Any]) -> None:
    info = data(f"{live}/search.json?q=harbour+boats")
    hits = {h["url"]: h for h in info["hits"]}
    assert set(hits) == {world["base"] + "/other", world["base"] + "/report.html"}
    assert "[[harbour]]" in hits[world["base"] + "/other"]["snippet"].lower()
    assert data(f"{live}/search.json?q=harbour&site=example.org")["hits"] == []
    assert data(f"{live}/search.json?q=harbour&to=2001-01-01")["hits"] == []
    assert data(f"{live}/search.json?q=harbour&report={world['report']}")["hits"]
    reply, doc = page(f"{live}/search?q=irrigation")
    assert doc.xpath("//div[@class='hit']//mark") and world["base"] + "/article" in reply.text
    assert fetch(f"{live}/search.json?q=%22%22").status == 400
    assert fetch(f"{live}/search.json?q=harbour&feed=no-such-feed").status == 404
    assert page(f"{live}/search")[0].status == 200


@pytest.mark.parametrize("path", ["/", "/reports", "/search?q=river"])
def test_pages_are_html_by_default_and_json_on_request(live: str, path: str) -> None:
    assert fetch(live + path).header("content-type").startswith("text/html")
    assert fetch(live + path, headers=JSON).header("content-type") == "application/json"
    assert fetch(live + path, headers={"Accept": "text/html,application/json;q=0.9"}).header(
        "content-type").startswith("text/html")


def test_static_assets_and_security_headers(live: str) -> None:
    css = fetch(live + "/static/app.css")
    assert css.status == 200 and css.header("content-type").startswith("text/css")
    again = fetch(live + "/static/app.css", headers={"If-None-Match": css.header("etag")})
    assert again.status == 304
    js = fetch(live + "/static/app.js")
    assert js.status == 200 and "verdict" in js.text
    assert fetch(live + "/static/nope.js").status == 404
    icon = fetch(live + "/static/icon.svg")
    assert icon.status == 200 and icon.header("content-type") == "image/svg+xml" and b"<svg" in icon.body
    home = fetch(live + "/")
    assert home.header("x-content-type-options") == "nosniff"
    assert home.header("referrer-policy") == "no-referrer"


def test_no_page_has_markup_its_csp_blocks(live: str, world: dict[str, Any]) -> None:
    """``style-src 'self'; script-src 'self'``: inline styles, style elements, inline scripts and event
    handlers would be blocked by the browser (and the timeline's marks would all sit at the left)."""
    url = world["base"] + "/article"
    first = data(f"{live}/timeline.json?url={quote(url)}")["captures"][0]
    paths = ["/", "/reports", f"/reports/{world['report']}", f"/timeline?url={quote(url)}",
             f"/snapshot/{first['id']}", f"/diff?url={quote(url)}&report={world['report']}",
             "/search?q=river", f"/web/{first['timestamp']}/{url}"]
    for path in paths:
        reply, doc = page(live + path)
        assert "style-src 'self'" in reply.header("content-security-policy"), path
        assert doc.xpath("//link[@rel='icon']"), path  # else the browser asks for /favicon.ico (404)
        assert doc.xpath("//*[@style]") == [] and doc.xpath("//style") == [], path
        assert doc.xpath("//script[not(@src)]") == [], path
        handlers = [(el.tag, name) for el in doc.iter() if isinstance(el.tag, str)
                    for name in el.attrib if name.lower().startswith("on")]
        assert handlers == [], (path, handlers)
