"""Soak benchmark (issue 5): the daemon runs thousands of scheduled captures without leaking.

    .venv/bin/python bench/soak_bench.py [--captures 2000] [--schedules 10] [--urls 10] [--every 2]
                                         [--workers 2]

The local test web (tests/server.py, ``/many/<name>`` article pages) is captured by ``--schedules``
schedules of ``--urls`` URLs each, every ``--every`` seconds, by a real ``collector run`` subprocess
(SQLite archive in a temporary directory, one extraction worker per crawl). The daemon process itself
(not its short-lived crawl children) is sampled every second from /proc: resident memory (VmRSS),
open file descriptors and threads, against the number of captures committed.

Figures: RSS, fds and threads after the first 100 captures and at the end (target: end RSS within 20%
of the first; no growth in fds or threads), their maxima, runs and captures per minute, duplicate
slots (must be 0), failed runs, the graceful stop time and exit status. Written to
bench/out/soak_bench.json. No asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "soak_bench.json"


def _proc_stats(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def _count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0", "COLLECTOR_EXTRACT_WORKERS": "1"})
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=int, default=2000)
    parser.add_argument("--schedules", type=int, default=10)
    parser.add_argument("--urls", type=int, default=10, help="URLs per schedule")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between runs of a schedule")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=100, help="captures before the first sample")
    args = parser.parse_args()

    web = subprocess.Popen([sys.executable, str(ROOT / "tests" / "server.py")], stdout=subprocess.PIPE,
                           text=True)
    assert web.stdout is not None
    base = f"http://127.0.0.1:{int(web.stdout.readline().split()[1])}"
    home = Path(tempfile.mkdtemp(prefix="soak-bench-"))
    db = home / "collector.db"
    env = _env(home)
    cli = [sys.executable, "-m", "collector"]
    for s in range(args.schedules):
        urls = [f"{base}/many/s{s}-u{u}" for u in range(args.urls)]
        subprocess.run([*cli, "schedule", "add", *urls, "--every", f"{args.every}s"], env=env,
                       check=True, capture_output=True)
    log = (home / "daemon.log").open("wb")
    daemon = subprocess.Popen([*cli, "run", "--allow-private", "--workers", str(args.workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT)
    started = time.monotonic()
    samples: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    try:
        while True:
            time.sleep(1.0)
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited early with status {daemon.returncode}")
            captures = _count(db, "SELECT COUNT(*) FROM captures WHERE outcome = 'captured'")
            sample = {"t": round(time.monotonic() - started, 1), "captures": captures,
                      **_proc_stats(daemon.pid)}
            samples.append(sample)
            if first is None and captures >= args.baseline:
                first = sample
            if captures >= args.captures:
                break
        stop_at = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=300)
        stop_seconds = time.monotonic() - stop_at
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
        web.terminate()
        web.wait(timeout=10)
    last = samples[-1]
    assert first is not None
    minutes = (last["t"] - samples[0]["t"]) / 60 or 1
    runs = _count(db, "SELECT COUNT(*) FROM schedule_runs")
    after = [s for s in samples if s["captures"] >= args.baseline]
    result = {
        "captures": last["captures"], "runs": runs,
        "failed_runs": _count(db, "SELECT COUNT(*) FROM schedule_runs WHERE status != 'ok'"),
        "duplicate_slots": _count(db, "SELECT COUNT(*) - COUNT(DISTINCT job_id || scheduled_for) "
                                      "FROM schedule_runs"),
        "captures_per_minute": round(last["captures"] / minutes, 1),
        "runs_per_minute": round(runs / minutes, 1),
        "after_first": first, "at_end": last,
        "rss_end_over_first": round(last["rss_kb"] / first["rss_kb"], 3),
        "max_rss_kb_after_first": max(s["rss_kb"] for s in after),
        "max_fds_after_first": max(s["fds"] for s in after),
        "max_threads_after_first": max(s["threads"] for s in after),
        "stop_seconds": round(stop_seconds, 2), "exit_status": status,
        "settings": vars(args),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({**result, "samples": samples}, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
