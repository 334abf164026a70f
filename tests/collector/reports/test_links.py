"""What a researcher links to: the good capture a citation means (never an archived error page), the
archive's public base URL, and whole notes entries in robustified notes."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.capture.run import capture_urls
from collector.reports.exports import export_report
from collector.reports.robustify import problems, robust_notes
from collector.reports.status import render_html, render_markdown, report_status
from collector.reports.versions import add_report
from storage.checks import add_checks
from storage.database import connect
from storage.records import CheckRecord
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.conftest import make_config

LONG_TITLE = ("The long and winding account of how the harbour authority, the fishermen's cooperative and "
              "the river council agreed on new night-time rules for the estuary")


def _set_status(server: str, name: str, code: int) -> None:
    with urllib.request.urlopen(f"{server}/set-status/{name}/{code}") as response:
        assert response.read() == b"ok"


def _by_ref(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["ref"]: row for row in rows}


def test_links_go_to_the_good_capture_the_citation_means(server: str, home: Path, tmp_path: Path,
                                                         db_url: str) -> None:
    name = uuid.uuid4().hex[:10]
    config = make_config(home, database_url=db_url)
    a, b = f"{server}/toggle/{name}", f"{server}/status/404"
    c, d = f"{server}/page/{name}-c", f"{server}/page/{name}-d"
    doc = tmp_path / "r.md"
    doc.write_text("Claim one[^a]. Claim two[^b]. Claim three[^c]. Claim four[^d].\n\n"
                   f"[^a]: First source, {a}\n[^b]: Second source, {b}\n"
                   f"[^c]: Third source, 3 June 2013, {c}\n[^d]: Fourth source, {d}\n")
    add_report(config, str(doc), name="r")
    first = {r["url"]: r for r in capture_urls(config, [a, c, d])}
    second = {r["url"]: r for r in capture_urls(config, [c, d])}
    _set_status(server, name, 404)
    third = {r["url"]: r for r in capture_urls(config, [a, b])}
    assert third[a]["http_status"] == 404 and first[a]["http_status"] == 200

    rows = _by_ref(report_status(config, "r", base_url="https://arch.example"))
    # the latest capture of ^a is a 404: the link is the earlier 200
    assert rows["^a"]["latest_capture"]["http_status"] == 404
    assert rows["^a"]["archive_capture"]["captured_at"] == first[a]["captured_at"]
    assert rows["^a"]["archive_capture"]["http_status"] == 200
    assert rows["^a"]["archive_link"].startswith("https://arch.example/web/")
    assert rows["^a"]["archive_problem"] is None
    # only an error page: no link, and said so
    assert rows["^b"]["archive_link"] is None and rows["^b"]["archive_capture"] is None
    assert rows["^b"]["archive_problem"] == "only-error-captures"
    # dated 2013: the capture nearest that date (the first); undated: the latest good one
    assert rows["^c"]["archive_capture"]["captured_at"] == first[c]["captured_at"]
    assert rows["^d"]["archive_capture"]["captured_at"] == second[d]["captured_at"]

    # a check judged the latest capture of ^d a soft-404: the link goes back to the first
    sessions = connect(config.db_url)
    try:
        add_checks(sessions, [CheckRecord(url=d, checked_at=datetime.now(UTC), capture_id=second[d]["id"],
                                          baseline_id=first[d]["id"], status="soft-404")])
    finally:
        sessions.kw["bind"].dispose()
    rows = _by_ref(report_status(config, "r", base_url="https://arch.example"))
    assert rows["^d"]["archive_capture"]["captured_at"] == first[d]["captured_at"]

    # the exports link what status links, and flag the same citation
    out = io.BytesIO()
    export_report(config, "r", "json", out, base_url="https://arch.example")
    exported = _by_ref(json.loads(out.getvalue())["citations"])
    assert {r: exported[r]["archive_link"] for r in rows} == {r: rows[r]["archive_link"] for r in rows}
    assert exported["^b"]["archive_problem"] == "only-error-captures"
    out = io.BytesIO()
    export_report(config, "r", "csv", out, base_url="https://arch.example")
    table = {row["ref"]: row for row in csv.DictReader(io.StringIO(out.getvalue().decode()))}
    assert table["^a"]["archive_link"] == rows["^a"]["archive_link"]
    assert table["^a"]["archive_http_status"] == "200"
    assert table["^b"]["archive_link"] == "" and table["^b"]["archive_problem"] == "only-error-captures"

    # a visible mark wherever the link would be
    listed = list(rows.values())
    assert "only error captures (HTTP 404)" in render_markdown("r", listed)
    assert "only error captures (HTTP 404)" in render_html("r", listed)
    notes = robust_notes(listed)
    assert f"[^b] Second source, {b} (NOT ARCHIVED: only error captures (HTTP 404))" in notes
    assert f"[^a] First source, {a} (archived on {first[a]['captured_at'][:10]}: " \
           f"{rows['^a']['archive_link']})" in notes
    assert problems(listed) == ["[^b] only error captures (HTTP 404)"]


def test_robustify_writes_whole_entries_and_names_the_public_base_url(server: str, home: Path,
                                                                      tmp_path: Path) -> None:
    name = uuid.uuid4().hex[:10]
    page, missing = f"{server}/page/{name}", f"{server}/status/403"
    entry = f'Ana Ruiz, "{LONG_TITLE}", Delta Courier, 4 June 2023, {page}'
    doc = tmp_path / "r.md"
    doc.write_text(f"Claim one[^a]. Claim two[^b].\n\n[^a]: {entry}\n[^b]: Gone source, {missing}\n")
    assert run(home, "report", "add", str(doc), "--name", "r").returncode == 0
    captured = run(home, "capture", "--report", "r", "--allow-private", "--json")
    no_traceback(captured)

    # no --base-url, no public_base_url: links still written, with a warning naming the setting
    robust = run(home, "report", "robustify", "r")
    no_traceback(robust)
    assert robust.returncode == 0, robust.stderr.decode()
    notes, err = robust.stdout.decode(), robust.stderr.decode()
    assert f"[^a] {entry} (archived on " in notes  # the whole entry, not its first 100 characters
    assert "(archived on" in notes and "http://127.0.0.1:8080/web/" in notes
    assert "NOT ARCHIVED: only error captures (HTTP 403)" in notes
    assert "public_base_url" in err and "COLLECTOR_PUBLIC_BASE_URL" in err
    assert "[^b] only error captures (HTTP 403)" in err
    out = tmp_path / "r.csv"
    exported = run(home, "export", "--report", "r", "--format", "csv", "-o", str(out))
    assert exported.returncode == 0, exported.stderr.decode()
    assert "public_base_url" in exported.stderr.decode()
    status = run(home, "report", "status", "r", "--format", "markdown")
    assert "public_base_url" in status.stderr.decode()
    assert "**only error captures (HTTP 403)**" in status.stdout.decode()

    # the setting: every reader-facing link uses it, and nobody is warned
    (home / "collector.toml").write_text('public_base_url = "https://archive.example.org/"\n')
    robust = run(home, "report", "robustify", "r")
    assert "https://archive.example.org/web/" in robust.stdout.decode()
    assert "127.0.0.1:8080" not in robust.stdout.decode()
    assert "public_base_url" not in robust.stderr.decode()
    exported = run(home, "export", "--report", "r", "--format", "csv", "-o", str(out))
    assert exported.returncode == 0 and "public_base_url" not in exported.stderr.decode()
    links = [row["archive_link"] for row in csv.DictReader(io.StringIO(out.read_text()))]
    assert links[0].startswith("https://archive.example.org/web/") and links[1] == ""
    rows = _by_ref(lines(run(home, "report", "status", "r", "--json")))
    assert rows["^a"]["archive_link"].startswith("https://archive.example.org/web/")
    assert rows["^b"]["archive_problem"] == "only-error-captures"
    given = run(home, "report", "status", "r", "--json", "--base-url", "https://other.example")
    assert _by_ref(lines(given))["^a"]["archive_link"].startswith("https://other.example/web/")
