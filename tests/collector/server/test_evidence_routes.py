"""The evidence package over HTTP: ``/evidence/{id}.wacz`` (linked from the snapshot page) and
``/reports/{name}/evidence.wacz`` (with the citation table), verified offline like any package."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import lxml.html
import pytest

from collector.evidence.keys import ArchiveKey, create_key, load_key
from collector.evidence.packverify import verify_package
from tests.collector.server.helpers import fetch
from tests.collector.server.test_exports import assert_replays_pages, exported_pages
from tests.pywb_tool import Pywb


def world_key(world: dict[str, Any]) -> ArchiveKey:
    """The world archive's key (made on first use: the world fixture is shared and keyless)."""
    path = world["config"].signing_key_path
    return load_key(path) if path.exists() else create_key(path)


def test_capture_package_and_the_snapshot_link(live: str, world: dict[str, Any]) -> None:
    key = world_key(world)
    url = world["base"] + "/article"
    first = json.loads(fetch(f"{live}/timeline.json?url={quote(url)}").body)["captures"][0]
    doc = lxml.html.fromstring(fetch(f"{live}/snapshot/{first['id']}").body)
    [link] = doc.xpath(f"//a[@href='/evidence/{first['id']}.wacz']")
    assert "evidence" in link.text_content()
    reply = fetch(f"{live}/evidence/{first['id']}.wacz")
    assert reply.status == 200 and reply.header("content-type") == "application/wacz"
    assert f'capture-{first["id"]}-evidence.wacz' in reply.header("content-disposition")
    report = verify_package(io.BytesIO(reply.body), public_key=key.public_key_hex)
    assert report.ok, report.problems
    assert first["id"] in {c["capture_id"] for c in report.captures}
    assert fetch(f"{live}/evidence/999999.wacz").status == 404


def test_report_package_holds_the_citation_table(live: str, world: dict[str, Any]) -> None:
    key = world_key(world)
    name = world["report"]
    reply = fetch(f"{live}/reports/{name}/evidence.wacz")
    assert reply.status == 200, reply.body[:300]
    report = verify_package(io.BytesIO(reply.body), public_key=key.public_key_hex)
    assert report.ok, report.problems
    proved = {c["url"] for c in report.captures}
    assert {world["base"] + "/article", world["base"] + "/report.html"} <= proved
    with zipfile.ZipFile(io.BytesIO(reply.body)) as zf:
        table = json.loads(zf.read("evidence/citations.json"))
        rows = list(csv.DictReader(io.StringIO(zf.read("evidence/citations.csv").decode())))
        kinds = {json.loads(line)["kind"] for line in zf.read("evidence/ledger.jsonl").splitlines()}
    assert table["report"] == name and len(table["citations"]) == len(rows) >= 2
    checked = [r for r in table["citations"] if r["verdict"]]
    assert checked and all("quotes" in r for r in table["citations"])
    assert {r["verdict"] for r in rows} >= {c["verdict"] for c in checked}
    assert {"capture", "report-version", "check"} <= kinds
    # every check verdict of the report is proved, with its quote results
    assert {(c["report"], c["status"]) for c in report.checks} >= {(name, c["verdict"]) for c in checked}
    assert all(isinstance(c["quotes"], list) for c in report.checks)
    assert fetch(f"{live}/reports/no-such-report/evidence.wacz").status == 404


@pytest.mark.slow  # pywb
def test_pywb_imports_and_replays_the_evidence_package(live: str, world: dict[str, Any], tmp_path: Path,
                                                       pywb: Pywb) -> None:
    world_key(world)
    out = tmp_path / "evidence.wacz"
    out.write_bytes(fetch(f"{live}/reports/{world['report']}/evidence.wacz").body)
    pywb.manager("init", "evidence")
    pywb.manager("add", "--unpack-wacz", "evidence", str(out))
    assert pywb.index("evidence"), "pywb found no index in the evidence package"
    with pywb.serving() as base:
        assert_replays_pages(base, "evidence", world, exported_pages(world, out))


def test_without_a_key_the_server_says_so(memento_server: dict[str, Any]) -> None:
    capture = memento_server["example"][0]
    reply = fetch(f"{memento_server['base']}/evidence/{capture.id}.wacz",
                  headers={"Accept": "application/json"})
    assert reply.status == 503 and b"collector key create" in reply.body
