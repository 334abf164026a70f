"""Where the sample reports for the citation tests are."""

from __future__ import annotations

from pathlib import Path

REPORTS = Path(__file__).parents[2] / "data" / "reports"
# the seed report lives in the shared folder beside the repository, never in it
SEED = Path(__file__).parents[4] / "shared" / "reports" / "islamism-peru-report.txt"
