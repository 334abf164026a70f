"""What a report's health costs the reports list: ``GET /reports`` lists every report (baseline: the list
alone, as before issue 17) and now computes each one's health (``report_status`` + ``report_health``).

Run: .venv/bin/python bench/health_bench.py [--reports N]
Prints the median of 7 rounds of each, their ratio, the cost per report and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from collector.capture.run import capture_urls
from collector.demo.localweb import LocalWeb, Page
from collector.reports.status import report_health, report_status
from collector.reports.versions import add_report, link_reference
from storage.database import connect
from storage.reports import list_reports
from tests.collector.server.workbench import CITED, QUOTE, REPORT
from tests.conftest import make_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=10)
    n = parser.parse_args().reports
    config = make_config(Path(tempfile.mkdtemp(prefix="health-bench-")))
    with LocalWeb({f"/p{i}": Page(CITED) for i in range(n)}) as web:
        for i in range(n):  # the 12-citation seed report, ref 6 linked to a captured page with a quote
            add_report(config, str(REPORT), name=f"r{i}")
            link_reference(config, f"r{i}", "6", f"{web.base_url}/p{i}", quote=QUOTE)
        capture_urls(config, [f"{web.base_url}/p{i}" for i in range(n)])
    sessions = connect(config.db_url)
    listed, healthy = [], []
    for _ in range(7):
        start = time.perf_counter()
        [v.report for v in list_reports(sessions)]
        listed.append(time.perf_counter() - start)
        start = time.perf_counter()
        [report_health(report_status(config, v.report)) for v in list_reports(sessions)]
        healthy.append(time.perf_counter() - start)
    base, new = statistics.median(listed), statistics.median(healthy)
    print(f"{n} reports of 12 citations: list {base * 1000:.1f} ms, list + health {new * 1000:.1f} ms "
          f"({new / base:.0f}x), {(new - base) / n * 1000:.1f} ms per report; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
