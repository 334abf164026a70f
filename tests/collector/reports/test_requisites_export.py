"""A report's WARC/WACZ export carries its pages' requisites, and pywb replays a page with its images
from the exported WACZ (the image two pages share is fetched once, with the first: found by URL)."""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from collector.capture.run import capture_urls
from collector.reports.exports import export_report
from collector.reports.versions import add_report, report_urls
from tests.collector.capture import requisite_site
from tests.collector.capture.requisite_site import PHOTO_RGB, png
from tests.collector.server.helpers import fetch
from tests.conftest import make_config
from tests.pywb_tool import Pywb

site = pytest.fixture(scope="module")(requisite_site.serving)


@pytest.fixture(scope="module")
def exported(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("export")
    config = make_config(home, per_host_concurrency=4)
    add_report(config, f"{site}/report.html", name="harbour")
    urls, contexts = report_urls(config, "harbour")
    results = capture_urls(config, urls, contexts=contexts)
    assert {r["outcome"] for r in results} == {"captured"}, results
    out = home / "harbour.wacz"
    with open(out, "wb") as fh:
        export_report(config, "harbour", "wacz", fh)
    with zipfile.ZipFile(out) as zf:
        index = [json.loads(line.split(" ", 2)[2])
                 for line in zf.read("indexes/index.cdx").decode().splitlines() if line.strip()]
    return {"config": config, "wacz": out, "index": index,
            "pages": {r["url"]: r for r in results}}


def test_the_export_holds_every_page_requisite(exported: dict[str, Any], site: str) -> None:
    urls = {entry["url"] for entry in exported["index"]}
    for path in ("/img/photo-3.png", "/img/photo-4.png", "/img/shared.png", "/static/site.css",
                 "/static/more.css", "/img/bg.png", "/fonts/body.woff2"):
        assert f"{site}{path}" in urls, path


def test_without_requisites_the_export_has_none(site: str, tmp_path: Path) -> None:
    config = make_config(tmp_path / "home", requisites=False)
    add_report(config, f"{site}/report.html", name="bare")
    urls, contexts = report_urls(config, "bare")
    capture_urls(config, urls, contexts=contexts)
    out = tmp_path / "bare.warc.gz"
    with open(out, "wb") as fh:
        export_report(config, "bare", "warc", fh)
    records = gzip.decompress(out.read_bytes())
    assert f"WARC-Target-URI: {site}/article/3\r\n".encode() in records
    assert f"WARC-Target-URI: {site}/img/photo-3.png".encode() not in records


@pytest.mark.slow  # pywb
def test_pywb_replays_the_page_with_its_images(exported: dict[str, Any], site: str, pywb: Pywb) -> None:
    pywb.manager("init", "wacz")
    pywb.manager("add", "--unpack-wacz", "wacz", str(exported["wacz"]))
    page = exported["pages"][f"{site}/article/4"]
    stamp = "".join(ch for ch in page["captured_at"] if ch.isdigit())[:14]
    with pywb.serving() as base:
        html = fetch(f"{base}/wacz/{stamp}mp_/{site}/article/4").text
        for name, expected in (("photo-4", png(40, 30, PHOTO_RGB)), ("shared", None)):
            found = re.search(rf'src="([^"]*/img/{name}\.png)"', html)
            assert found is not None, html[:2000]
            src = found.group(1)
            url = src if src.startswith("http") else base + src
            reply = fetch(url)
            while reply.status in (301, 302, 307):
                location = reply.header("location") or ""
                reply = fetch(location if location.startswith("http") else base + location)
            assert reply.status == 200 and reply.body.startswith(b"\x89PNG"), (url, reply.status)
            if expected is not None:
                assert reply.body == expected
