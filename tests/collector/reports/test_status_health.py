"""A report's health at a glance: one function (``report_health``) behind the web interface and
``collector report status`` (table, ``--json`` rows, ``--health``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from collector.reports.status import HEALTH_FIELDS, HEALTH_LABELS, health_of, report_health
from tests.collector.cli.test_cli import lines, no_traceback, run

REPORT = Path(__file__).resolve().parents[2] / "data" / "reports" / "night-ferries.md"


def _row(**fields: Any) -> dict[str, Any]:
    return {"archive_capture": None, "check": None, "needs_url": False, **fields}


def test_each_row_counts_in_the_figures_it_shows() -> None:
    archived = {"captured_at": "2026-01-01T00:00:00Z"}
    rows = [
        _row(archive_capture=archived, check={"status": "unchanged", "quotes": []}),
        _row(archive_capture=archived, check={"status": "changed",
                                              "quotes": [{"live": False}, {"live": True}]}),
        _row(check={"status": "gone", "quotes": [{"live": None}]}),  # page gone: quote unknown, not "lost"
        _row(check={"status": "soft-404", "quotes": []}),
        _row(archive_capture=archived, check={"status": "blocked", "quotes": []}),
        _row(needs_url=True),
        _row(check={"status": "unreachable", "quotes": []}),
    ]
    assert [health_of(r) for r in rows] == [
        ["archived"], ["archived", "changed", "quotes_not_live"], ["gone"], ["soft-404"],
        ["archived", "blocked"], ["needs_url"], []]
    assert report_health(rows) == {"citations": 7, "archived": 3, "changed": 1, "gone": 1, "soft-404": 1,
                                   "blocked": 1, "needs_url": 1, "quotes_not_live": 1}
    assert report_health([]) == {"citations": 0, **dict.fromkeys(HEALTH_FIELDS, 0)}
    assert set(HEALTH_LABELS) == {"citations", *HEALTH_FIELDS}


@pytest.mark.slow  # five CLI processes
def test_report_status_prints_the_figures(home: Path) -> None:
    added = run(home, "report", "add", str(REPORT), "--name", "ferries", "--json")
    no_traceback(added)
    assert added.returncode == 0, added.stderr.decode()
    needing = lines(added)[0]["needs_url"]
    assert needing  # the seed report has references without a URL

    health = run(home, "report", "status", "ferries", "--health", "--json")
    no_traceback(health)
    [figures] = lines(health)
    rows = lines(run(home, "report", "status", "ferries", "--json"))
    counted = Counter(field for row in rows for field in row["health"])
    assert figures == {"report": "ferries", "citations": len(rows),
                       **{f: counted.get(f, 0) for f in HEALTH_FIELDS}}
    assert figures["needs_url"] == len(needing) and figures["archived"] == 0

    table = run(home, "report", "status", "ferries")
    no_traceback(table)
    last = table.stdout.decode().strip().splitlines()[-1]
    assert last.startswith("ferries: ") and f"{len(needing)} need a URL" in last
    assert run(home, "report", "status", "ferries", "--health").stdout.decode().strip() == last
