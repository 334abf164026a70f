"""Exports of a report's evidence (CLI and HTTP): WARC checked by warcio, WACZ by the wacz package, both
replayed by pywb (run for real: tests/pywb_tool.py)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from storage import queries, retrieve
from storage.records import CaptureRecord
from tests.collector.cli.test_cli import no_traceback, run
from tests.collector.server.helpers import fetch
from tests.pywb_tool import Pywb
from tests.storage.helpers import warcio_check_files

WACZ_TOOL = Path(sys.executable).parent / "wacz"


def export(world: dict[str, Any], fmt: str, out: Path) -> None:
    proc = run(world["home"], "export", "--report", world["report"], "--format", fmt, "-o", str(out))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.exists() and not out.with_name(out.name + ".part").exists()


def test_warc_export_passes_warcio_check(world: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "r.warc.gz"
    export(world, "warc", out)
    warcio_check_files(out)
    from warcio.archiveiterator import ArchiveIterator

    with open(out, "rb") as fh:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                    r.rec_headers.get_header("WARC-Record-ID")) for r in ArchiveIterator(fh)]
    assert records[0][0] == "warcinfo"
    responses = {uri for kind, uri, _ in records if kind in ("response", "revisit")}
    base = world["base"]
    assert {base + "/article", base + "/other", base + "/hostile", base + "/report.html"} <= responses
    # not cited by the report, but the cited /article shows them: its page requisites (docs/requisites.md)
    assert {base + "/img.png", base + "/style.css"} <= responses
    ids = [record_id for _, _, record_id in records]
    assert len(ids) == len(set(ids))  # a record shared by captures (a revisit's original) is written once
    assert "resource" not in {kind for kind, _, _ in records}  # the report is a page: captured, not stored


def test_wacz_export_is_valid(world: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "r.wacz"
    export(world, "wacz", out)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"datapackage.json", "datapackage-digest.json", "archive/data.warc.gz",
                "indexes/index.cdx", "pages/pages.jsonl"} <= names
        assert not any(n.endswith(".cdxj") for n in names)  # pywb imports only *.cdx and *.cdx.gz
        assert zf.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
        package = json.loads(zf.read("datapackage.json"))
        assert package["wacz_version"] == "1.1.1"
        for resource in package["resources"]:
            body = zf.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(body).hexdigest()
            assert resource["bytes"] == len(body)
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(zf.read("datapackage.json")).hexdigest()
        index = zf.read("indexes/index.cdx").decode().splitlines()
        assert "indexes/index.cdx" in {r["path"] for r in package["resources"]}
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()]
        warc = zf.read("archive/data.warc.gz")
    article = world["base"] + "/article"
    rows = [line for line in index if json.loads(line.split(" ", 2)[2])["url"] == article]
    assert len(rows) == 2 and rows == sorted(rows)
    for line in index:  # every index line points at a record of the WARC
        entry = json.loads(line.split(" ", 2)[2])
        member = warc[int(entry["offset"]):int(entry["offset"]) + int(entry["length"])]
        assert member[:2] == b"\x1f\x8b"
    assert pages[0]["format"] == "json-pages-1.0" and pages[0]["hasText"] is True
    texts = {p["url"]: p["text"] for p in pages[1:] if p["url"] == article}
    assert texts and all(p["ts"].endswith("Z") for p in pages[1:])
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "data.warc.gz").write_bytes(warc)
    warcio_check_files(tmp_path / "warc" / "data.warc.gz")
    if not WACZ_TOOL.exists():
        pytest.skip("the wacz package is not installed (pip install wacz)")
    result = subprocess.run([str(WACZ_TOOL), "validate", "-f", str(out)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def exported_pages(world: dict[str, Any], wacz: Path) -> list[tuple[str, CaptureRecord]]:
    """(pywb timestamp, capture) of every page the WACZ lists."""
    with zipfile.ZipFile(wacz) as zf:
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()[1:]]
    captures = queries.captures_by_ids(world["sessions"], [int(p["id"].split("-")[1]) for p in pages])
    assert len(captures) == len(pages) >= 4
    return [("".join(ch for ch in p["ts"] if ch.isdigit())[:14], c)
            for p, c in zip(pages, captures, strict=True)]


def assert_replays_pages(base: str, collection: str, world: dict[str, Any],
                         pages: list[tuple[str, CaptureRecord]]) -> None:
    """Every page comes back from pywb as the page: its archived bytes and type, not a JSON record."""
    for stamp, capture in pages:
        url = capture.final_url or capture.url
        reply = fetch(f"{base}/{collection}/{stamp}id_/{url}")
        assert reply.status == 200, (collection, url, reply.status, reply.body[:300])
        assert reply.header("content-type") == capture.content_type, (collection, url, reply.body[:300])
        assert reply.body == retrieve.capture_payload(world["config"].warc_dir, capture), url
        assert capture.title and capture.title.encode() in reply.body


@pytest.mark.slow  # pywb
def test_pywb_imports_and_replays_the_wacz(world: dict[str, Any], tmp_path: Path, pywb: Pywb) -> None:
    out = tmp_path / "r.wacz"
    export(world, "wacz", out)
    pywb.manager("init", "wacz")
    pywb.manager("add", "--unpack-wacz", "wacz", str(out))
    assert pywb.index("wacz"), "pywb found no index in the WACZ"
    with pywb.serving() as base:
        assert_replays_pages(base, "wacz", world, exported_pages(world, out))


@pytest.mark.slow  # pywb
def test_pywb_replays_the_exported_warc(world: dict[str, Any], tmp_path: Path, pywb: Pywb) -> None:
    """The WARC export holds every record (metadata too), indexed by pywb itself: pages still win."""
    export(world, "warc", tmp_path / "r.warc.gz")
    export(world, "wacz", tmp_path / "r.wacz")
    pywb.manager("init", "warc")
    pywb.manager("add", "warc", str(tmp_path / "r.warc.gz"))
    with pywb.serving() as base:
        assert_replays_pages(base, "warc", world, exported_pages(world, tmp_path / "r.wacz"))


def test_csv_and_json_exports(world: dict[str, Any], tmp_path: Path) -> None:
    export(world, "csv", tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    by_url = {r["url"]: r for r in rows if r["url"]}
    article = by_url[world["base"] + "/article"]
    assert article["verdict"] == "changed" and article["quotes"] == "1" and article["quotes_found"] == "1"
    assert len(article["latest_sha256"]) == 64 and article["archive_link"].startswith("http://")
    export(world, "json", tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["report"] == world["report"] and len(data["citations"]) == len(rows)


def test_export_errors(world: dict[str, Any], tmp_path: Path) -> None:
    proc = run(world["home"], "export", "--report", "nope", "--format", "csv")
    no_traceback(proc)
    assert proc.returncode == 1 and b"no report named" in proc.stderr
    assert run(world["home"], "export", "--report", world["report"], "--format", "zip").returncode == 2


def test_exports_over_http(live: str, world: dict[str, Any], tmp_path: Path) -> None:
    name = world["report"]
    wacz = fetch(f"{live}/reports/{name}/export.wacz")
    assert wacz.status == 200 and wacz.header("content-type") == "application/wacz"
    assert f'filename="{name}.wacz"' in wacz.header("content-disposition")
    with zipfile.ZipFile(io.BytesIO(wacz.body)) as zf:
        assert "indexes/index.cdx" in zf.namelist()
    warc = fetch(f"{live}/reports/{name}/export.warc")
    (tmp_path / "h.warc.gz").write_bytes(warc.body)
    warcio_check_files(tmp_path / "h.warc.gz")
    table = fetch(f"{live}/reports/{name}/export.csv")
    assert table.header("content-type").startswith("text/csv") and table.text.startswith("report,ref,")
    assert fetch(f"{live}/reports/{name}/export.zip").status == 400
    assert fetch(f"{live}/reports/nope/export.csv").status == 404
