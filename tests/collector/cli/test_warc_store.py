"""Two homes, as on two machines, sharing one PostgreSQL database and one WARC store (issue 16): what one
home captured, the other gets byte for byte (`get --raw`, `verify`, a WACZ export, `collector serve`),
with the store a shared directory or S3-compatible object storage (moto's server)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.server.helpers import fetch
from tests.collector.server.test_cli_serve import _stop
from tests.conftest import PG_STATUS, _reset_pg


@pytest.fixture
def pg(pg_database: str | None) -> str:
    """The tests' PostgreSQL database, emptied."""
    if pg_database is None:
        pytest.skip(PG_STATUS)
    _reset_pg(pg_database)
    return pg_database


def _home(path: Path, **settings: str) -> Path:
    path.mkdir(parents=True)
    (path / "collector.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    return path


def _ok(proc: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    no_traceback(proc)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode()
    return proc


@pytest.fixture(params=["directory", "s3"])
def homes(request: pytest.FixtureRequest, tmp_path: Path, pg: str) -> Iterator[dict[str, Any]]:
    """A writing home (worker alpha) and a reading home (worker beta): same database, same store."""
    store: dict[str, str] = {}
    if request.param == "directory":
        store = {"warc_store": str(tmp_path / "shared-warcs")}
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        store = {"warc_store": f"s3://{request.getfixturevalue('s3_bucket')}/warcs",
                 "warc_store_endpoint": endpoint}
    writer = _home(tmp_path / "machine-a", database_url=pg, worker_name="alpha", **store)
    reader = _home(tmp_path / "machine-b", database_url=pg, worker_name="beta", **store)
    yield {"kind": request.param, "writer": writer, "reader": reader, "store": store, "tmp": tmp_path}


def _serve(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env["COLLECTOR_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", "0", "--read-only"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("collector serving "), line + (proc.stderr.read() if proc.stderr else "")
    return proc, line.split(" on ", 1)[1].split()[0]


@pytest.mark.slow
def test_a_second_home_serves_what_the_first_captured(homes: dict[str, Any], server: str) -> None:
    writer, reader = homes["writer"], homes["reader"]
    urls = [f"{server}/page/store-{n}" for n in range(3)]
    report = homes["tmp"] / "store-report.md"
    report.write_text("# Sources\n\n" + "".join(f"{n + 1}. <{u}>\n" for n, u in enumerate(urls)))
    _ok(run(writer, "report", "add", str(report), "--name", "stored", "--allow-private"))
    captured = lines(_ok(run(writer, "capture", "--allow-private", "--json", "--report", "stored")))
    assert {c["outcome"] for c in captured} == {"captured"} and len(captured) == 3
    assert all("-alpha-" in c["warc_file"] for c in captured)
    if homes["kind"] == "s3":  # written in the writer's staging directory, uploaded at close
        assert (writer / "warcs" / captured[0]["warc_file"]).exists()
    assert not (reader / "warcs").exists() or not list((reader / "warcs").glob("*.warc.gz"))

    for capture in captured:  # get --raw: the payload, checked against its sha256
        got = _ok(run(reader, "get", capture["url"], "--raw"))
        assert hashlib.sha256(got.stdout).hexdigest() == capture["sha256"]
    verdict = json.loads(_ok(run(reader, "verify", "--json")).stdout)
    assert verdict["captures_checked"] >= 3 and verdict["problems"] == [], verdict

    wacz = homes["tmp"] / "stored.wacz"
    _ok(run(reader, "export", "--report", "stored", "--format", "wacz", "-o", str(wacz)))
    with zipfile.ZipFile(wacz) as zf:
        data = zf.read("archive/data.warc.gz")
    for capture in captured:
        assert capture["url"].encode() in _inflate(data)

    proc, base = _serve(reader)
    try:
        for capture in captured:
            stamp = "".join(ch for ch in capture["captured_at"] if ch.isdigit())[:14]
            reply = fetch(f"{base}/web/{stamp}id_/{capture['url']}")
            assert reply.status == 200
            assert hashlib.sha256(reply.body).hexdigest() == capture["sha256"]
    finally:
        _stop(proc)
    # the reading home wrote no WARC file, and only the writer's files are in the store
    assert not (reader / "warcs").exists() or not list((reader / "warcs").glob("*.warc.gz"))


def _inflate(data: bytes) -> bytes:
    import zlib

    out = bytearray()
    while data:
        member = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out += member.decompress(data)
        data = member.unused_data
    return bytes(out)


def test_warc_upload_pushes_what_the_store_lacks(tmp_path: Path, s3_endpoint: str, s3_bucket: str,
                                                server: str) -> None:
    home = _home(tmp_path / "home", worker_name="alpha")
    [capture] = lines(_ok(run(home, "capture", "--allow-private", "--json", f"{server}/page/later")))
    (home / "collector.toml").write_text(f'worker_name = "alpha"\nwarc_store = "s3://{s3_bucket}/warcs"\n'
                                         f'warc_store_endpoint = "{s3_endpoint}"\n')
    [report] = lines(_ok(run(home, "warc", "upload", "--json")))
    files = sorted(p.name for p in (home / "warcs").glob("*.warc.gz"))
    assert sorted(u["name"] for u in report["uploaded"]) == files and report["failed"] == []
    for item in report["uploaded"]:
        assert item["sha256"] == hashlib.sha256((home / "warcs" / item["name"]).read_bytes()).hexdigest()
    [again] = lines(_ok(run(home, "warc", "upload", "--json")))
    assert again["uploaded"] == [] and again["current"] == files
    # a home with an empty staging directory reads the capture back from the store
    other = _home(tmp_path / "other", database_url=f"sqlite:///{home / 'collector.db'}",
                  warc_store=f"s3://{s3_bucket}/warcs", warc_store_endpoint=s3_endpoint)
    got = _ok(run(other, "get", capture["url"], "--raw"))
    assert hashlib.sha256(got.stdout).hexdigest() == capture["sha256"]


def test_warc_upload_without_an_object_store_says_so(home: Path) -> None:
    proc = run(home, "warc", "upload")
    no_traceback(proc)
    assert proc.returncode == 2 and b"not an s3:// store" in proc.stderr


def test_a_worker_name_that_cannot_be_in_a_file_name_is_a_usage_error(home: Path) -> None:
    (home / "collector.toml").write_text('worker_name = "a/b"\n')
    proc = run(home, "verify")
    no_traceback(proc)
    assert proc.returncode == 2 and b"worker_name='a/b'" in proc.stderr


def _s3_homes(tmp_path: Path, pg: str, s3_endpoint: str, s3_bucket: str) -> tuple[Path, Path]:
    store = {"warc_store": f"s3://{s3_bucket}/warcs", "warc_store_endpoint": s3_endpoint}
    return (_home(tmp_path / "machine-a", database_url=pg, worker_name="alpha", **store),
            _home(tmp_path / "machine-b", database_url=pg, worker_name="beta", **store))


@pytest.mark.slow
def test_a_second_home_extracts_what_the_first_archived_without_extracting(
        tmp_path: Path, pg: str, s3_endpoint: str, s3_bucket: str, server: str) -> None:
    writer, reader = _s3_homes(tmp_path, pg, s3_endpoint, s3_bucket)
    [capture] = lines(_ok(run(writer, "capture", "--allow-private", "--no-extract", "--json",
                              f"{server}/page/extract-elsewhere")))
    # the extraction workers of the second home (forked by a fork server) read the page from S3
    _ok(run(reader, "extract", "--pending"))
    text = json.loads(_ok(run(reader, "get", capture["url"], "--text", "--json")).stdout)
    assert "extract-elsewhere" in json.dumps(text), text
    # its text records went into a file of its own (worker beta), uploaded to the store too
    [own] = [p.name for p in (reader / "warcs").glob("*.warc.gz")]
    assert "-beta-" in own and own != capture["warc_file"]
    [report] = lines(_ok(run(reader, "warc", "upload", "--json")))
    assert report["current"] == [own] and report["uploaded"] == []


@pytest.mark.slow
def test_the_next_crawl_uploads_what_a_dead_run_left_behind(
        tmp_path: Path, pg: str, s3_endpoint: str, s3_bucket: str, server: str) -> None:
    writer, reader = _s3_homes(tmp_path, pg, s3_endpoint, s3_bucket)
    store = (writer / "collector.toml").read_text()
    # a run whose file never reached the store (as if killed before its close), with a torn last record
    (writer / "collector.toml").write_text(f'database_url = "{pg}"\nworker_name = "alpha"\n')
    [lost] = lines(_ok(run(writer, "capture", "--allow-private", "--json", f"{server}/page/left-behind")))
    with open(writer / "warcs" / lost["warc_file"], "ab") as fh:
        fh.write(b"\x1f\x8b\x08\x00 torn by a kill")
    (writer / "collector.toml").write_text(store)
    assert run(reader, "get", lost["url"], "--raw").returncode == 1  # not in the store yet

    [later] = lines(_ok(run(writer, "capture", "--allow-private", "--json", f"{server}/page/next-run")))
    assert later["warc_file"] != lost["warc_file"]  # a torn file is never appended to
    for capture in (lost, later):
        got = _ok(run(reader, "get", capture["url"], "--raw"))
        assert hashlib.sha256(got.stdout).hexdigest() == capture["sha256"]
    verdict = json.loads(run(reader, "verify", "--json").stdout)
    assert verdict["problems"] == []
    assert [(w["kind"], w["warc_file"]) for w in verdict["warnings"]] == [("torn-tail", lost["warc_file"])]


def test_consolidate_leaves_an_object_store_alone(home: Path) -> None:
    (home / "collector.toml").write_text('warc_store = "s3://bucket/warcs"\n')
    proc = run(home, "warc", "consolidate")
    no_traceback(proc)
    assert proc.returncode == 1 and b"s3://bucket/warcs is an object store" in proc.stderr
