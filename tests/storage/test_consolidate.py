"""Consolidating small WARC files (issue 13): rows follow their records, verify stays green, a
SIGKILL at any step leaves a consistent archive that the next consolidation finishes or undoes."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage import queries, retrieve
from storage.archive import Archive
from storage.consolidate import consolidate_warcs
from storage.errors import StorageError
from storage.models import CaptureHop, Extraction
from storage.records import ExtractionInput
from storage.verify import verify_archive
from storage.warcread import read_record_at, scan_file
from tests.collector.server.helpers import fetch
from tests.pywb_tool import Pywb
from tests.storage.conftest import OpenArchive
from tests.storage.helpers import (
    HTML,
    T0,
    failed_capture,
    html_capture,
    redirect_capture,
    warc_files,
    warcio_check_files,
)

ROOT = Path(__file__).resolve().parents[2]


def build(open_archive: OpenArchive) -> Archive:
    """Four runs, four files: pages, a text, a revisit of another file's payload, a redirect (a hop
    row), a failure. Returns an archive on the same database (its writer never opened)."""
    for n, items in enumerate([
        [html_capture("https://example.com/a", T0)],
        [html_capture("https://example.com/a", T0 + timedelta(hours=1)),  # a revisit of file 1
         redirect_capture("http://example.com/old", "https://example.com/new", T0)],
        [failed_capture("https://down.example/", T0), html_capture("https://example.com/b", T0,
                                                                    body=HTML + b"<!-- b -->")],
        [html_capture("https://example.com/c", T0, body=HTML + b"<!-- c -->")],
    ]):
        archive = open_archive()
        records = archive.commit_captures(items)
        if n == 0:  # its text goes into the same file, as a metadata record
            archive.commit_extractions([ExtractionInput(
                capture_id=records[0].id, url=records[0].url, status="ok", text="Hello world",
                text_sha256="0" * 64, title="Hello", published=None, language="en",
                extracted_at=T0, refers_to=records[0].warc_record_id)])
        archive.writer.close()  # the run is over: its file is free
    return open_archive()


def snapshot(archive: Archive) -> dict[str, bytes]:
    """Every record a row points at, by WARC-Record-ID (or place), as its block."""
    out: dict[str, bytes] = {}
    for capture in queries.iter_captures(archive.sessions):
        for rec in capture.records:
            record = read_record_at(archive.warc_dir, rec["file"], rec["offset"])
            out[record.headers["WARC-Record-ID"]] = record.block
        if capture.text_file:
            record = read_record_at(archive.warc_dir, capture.text_file, capture.text_offset or 0)
            out["text " + record.headers["WARC-Record-ID"]] = record.block
    with archive.sessions() as session:
        for hop in session.scalars(select(CaptureHop)):
            assert hop.warc_file is not None and hop.warc_offset is not None
            record = read_record_at(archive.warc_dir, hop.warc_file, hop.warc_offset)
            out["hop " + record.headers["WARC-Record-ID"]] = record.block
        assert session.scalars(select(Extraction)).first() is not None
    return out


def assert_verified(archive: Archive) -> None:
    report = verify_archive(archive.sessions, archive.warc_dir)
    assert report.ok, report.problems
    assert report.warnings == []


def test_consolidation_merges_files_and_moves_every_row(open_archive: OpenArchive) -> None:
    archive = build(open_archive)
    before = snapshot(archive)
    assert len(warc_files(archive.warc_dir)) == 4
    dry = consolidate_warcs(archive.sessions, archive.warc_dir, target_bytes=2**20, dry_run=True)
    assert dry.files_before == 4 and dry.files_after == 1
    assert len(warc_files(archive.warc_dir)) == 4  # a dry run changes nothing

    report = consolidate_warcs(archive.sessions, archive.warc_dir, target_bytes=2**20)
    [merged] = warc_files(archive.warc_dir)
    assert report.files_before == 4 and report.files_after == 1
    assert report.merged[0]["into"] == merged.name and len(report.merged[0]["files"]) == 4
    assert snapshot(archive) == before  # every row reads the same record, now in one file
    assert_verified(archive)
    records = list(scan_file(merged))
    infos = [r for r in records if r.type == "warcinfo"]  # type: ignore[union-attr]
    assert len(infos) == 4
    assert {r.headers["WARC-Filename"] for r in infos} == {merged.name}  # type: ignore[union-attr]
    ids = {r.headers["WARC-Record-ID"] for r in infos}  # type: ignore[union-attr]
    for record in records:
        if record.type != "warcinfo":  # type: ignore[union-attr]
            assert record.headers["WARC-Warcinfo-ID"] in ids  # type: ignore[union-attr]
    warcio_check_files(merged)
    # nothing left to merge: a second run changes nothing
    again = consolidate_warcs(archive.sessions, archive.warc_dir, target_bytes=2**20)
    assert again.merged == [] and warc_files(archive.warc_dir) == [merged]


def test_files_held_torn_or_large_enough_are_left_alone(open_archive: OpenArchive) -> None:
    archive = build(open_archive)
    files = warc_files(archive.warc_dir)
    with open(files[-1], "ab") as torn:  # a killed run's torn tail
        torn.write(b"\x1f\x8b\x08\x00partial")
    held = open_archive(append=True)  # a running writer continues the newest whole file
    held.commit_captures([html_capture("https://example.com/d", T0)])
    assert held.writer.current_file == files[-2].name
    report = consolidate_warcs(archive.sessions, archive.warc_dir,
                               target_bytes=files[0].stat().st_size + files[1].stat().st_size + 1)
    reasons = {s["warc_file"]: s["reason"] for s in report.skipped}
    assert reasons == {files[-2].name: "being written", files[-1].name: "torn tail (see verify)"}
    assert report.merged[0]["files"] == [files[0].name, files[1].name]
    held.writer.close()
    verified = verify_archive(archive.sessions, archive.warc_dir)
    assert verified.ok, verified.problems
    assert [w["warc_file"] for w in verified.warnings] == [files[-1].name]


STEPS = ["written", "journaled", "renamed", "committed", "removed"]
KILL_AT = """
import os, signal, sys
from pathlib import Path
from storage.database import connect
from storage.consolidate import consolidate_warcs
from storage.errors import StorageError

def stop(step):
    if step == sys.argv[3]:
        os.kill(os.getpid(), signal.SIGKILL)

consolidate_warcs(connect(sys.argv[1]), Path(sys.argv[2]), target_bytes=2**20, on_step=stop)
"""


@pytest.mark.parametrize("step", STEPS)
def test_a_consolidation_killed_at_any_step_leaves_a_consistent_archive(
        open_archive: OpenArchive, db_url: str, step: str) -> None:
    archive = build(open_archive)
    before = snapshot(archive)
    names = [p.name for p in warc_files(archive.warc_dir)]
    killed = subprocess.run([sys.executable, "-c", KILL_AT, db_url, str(archive.warc_dir), step],
                            cwd=ROOT, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr.decode()
    assert snapshot(archive) == before  # every row still reads its record
    assert_verified(archive)

    report = consolidate_warcs(archive.sessions, archive.warc_dir, target_bytes=2**20)
    expected: dict[str, Any] = {"written": [], "journaled": ["undone"], "renamed": ["undone"],
                                "committed": ["completed"], "removed": ["completed"]}
    assert [r["action"] for r in report.recovered] == expected[step]
    [merged] = warc_files(archive.warc_dir)
    assert merged.name not in names
    assert not [p for p in archive.warc_dir.iterdir() if p.name.endswith((".partial", ".json"))]
    assert snapshot(archive) == before
    assert_verified(archive)
    warcio_check_files(merged)
    assert json.dumps(report.to_json())


@pytest.mark.slow  # pywb
def test_pywb_replays_appended_and_merged_files(open_archive: OpenArchive, pywb: Pywb) -> None:
    archive = build(open_archive)
    for n in range(2):  # two more runs that continue the newest file (three warcinfo records)
        runner = open_archive(append=True)
        runner.commit_captures([html_capture(f"https://example.com/appended-{n}", T0,
                                             body=HTML + b"<!-- appended %d -->" % n)])
        runner.writer.close()
    assert len(warc_files(archive.warc_dir)) == 4
    report = consolidate_warcs(archive.sessions, archive.warc_dir, target_bytes=2**20)
    assert report.files_after == 1
    pywb.manager("init", "merged")
    pywb.manager("add", "merged", *map(str, warc_files(archive.warc_dir)))
    captures = [c for c in queries.iter_captures(archive.sessions)
                if c.outcome == "captured" and c.revisit_of is None]
    assert len(captures) == 6
    with pywb.serving() as base:
        for capture in captures:
            url = capture.final_url or capture.url
            stamp = capture.captured_at.strftime("%Y%m%d%H%M%S")
            reply = fetch(f"{base}/merged/{stamp}id_/{url}")
            assert reply.status == 200, (url, reply.status, reply.body[:200])
            assert reply.body == retrieve.capture_payload(archive.warc_dir, capture), url


def test_one_consolidation_at_a_time(open_archive: OpenArchive) -> None:
    archive = build(open_archive)
    archive.warc_dir.mkdir(parents=True, exist_ok=True)
    with open(archive.warc_dir / ".consolidate.lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(StorageError, match="another consolidation"):
            consolidate_warcs(archive.sessions, archive.warc_dir, target_bytes=2**20)
    assert len(warc_files(archive.warc_dir)) == 4
