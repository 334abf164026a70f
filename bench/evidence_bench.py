"""Evidence package benchmark (issue 15). Run from the repository root:

    .venv/bin/python bench/evidence_bench.py [--captures 100] [--ledger 5000] [--repeat 5]

Builds an archive (SQLite) with ``--ledger`` unrelated captures and one page with ``--captures - 1``
requisites (HTML-sized payloads, 8-40 KB), a signing key and a local RFC 3161 TSA (``openssl ts``,
tests/collector/evidence/tsa.py), writes the page's evidence package (so it holds ``--captures``
captures with their ledger entries, inclusion proofs into a tree of all entries, a signed and
timestamped checkpoint), then times:

- ``verify_package`` in process (the median of ``--repeat`` runs) [target: < 2 s for 100 captures];
- ``collector evidence verify`` end to end (a fresh process: start-up included);
- baseline, same run: ``wacz validate`` (py-wacz) of the same file, which checks only file digests.

No asserts: figures are printed and written to bench/out/evidence_bench.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out" / "evidence_bench.json"


def html(i: int) -> bytes:
    """A page-sized HTML payload (8-40 KB), different for every ``i``."""
    para = f"<p>Paragraph {i}: the river rose by {i % 7} metres overnight, officials said.</p>\n"
    return (f"<html><head><title>Page {i}</title></head><body>"
            + para * (100 + (i * 37) % 400) + "</body></html>").encode()


def build(home: Path, captures: int, ledger: int) -> tuple[Any, Any, str]:
    """The archive, its config and the packaged page's URL."""
    from collector.evidence.keys import create_key
    from storage.archive import Archive
    from tests.collector.evidence.tsa import start_tsa
    from tests.conftest import make_config
    from tests.storage.helpers import html_capture

    tsa = start_tsa(home / "tsa")
    config = make_config(home / "home", tsa_url=tsa.url, tsa_ca_file=str(tsa.ca))
    create_key(config.signing_key_path)
    archive = Archive.from_settings(config)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        for start in range(0, ledger, 500):
            archive.commit_captures([html_capture(f"https://other.example/{i}", t0 + timedelta(seconds=i),
                                                  body=html(i))
                                     for i in range(start, min(ledger, start + 500))])
        page_url = "https://news.example/story"
        page, = archive.commit_captures([html_capture(page_url, t0 + timedelta(days=1), body=html(-1))])
        for start in range(0, captures - 1, 200):
            archive.commit_captures([html_capture(
                f"https://news.example/asset/{i}.html", t0 + timedelta(days=1, seconds=i + 1),
                body=html(10_000 + i), page_id=page.id)
                for i in range(start, min(captures - 1, start + 200))])
        archive.writer.close()
    finally:
        archive.close()
    return config, tsa, page_url


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=100)
    parser.add_argument("--ledger", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from collector.evidence.keys import public_pem
    from collector.evidence.ledger import archive_key
    from collector.evidence.package import write_evidence
    from collector.evidence.packverify import verify_package

    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        config, tsa, url = build(root, args.captures, args.ledger)
        build_s = time.perf_counter() - started
        out = io.BytesIO()
        started = time.perf_counter()
        summary = write_evidence(config, out, url=url)
        package_s = time.perf_counter() - started
        wacz = root / "evidence.wacz"
        wacz.write_bytes(out.getvalue())
        key = archive_key(config)
        assert key is not None
        public = root / "archive.pub"
        public.write_text(public_pem(key))
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = verify_package(wacz, public_key=key.public_key_hex, tsa_ca_pem=tsa.ca.read_bytes())
            runs.append(time.perf_counter() - started)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        started = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "collector", "evidence", "verify", str(wacz), "--key",
                              str(public), "--tsa-ca", str(tsa.ca), "--json"], capture_output=True,
                             env=env, text=True)
        cli_s = time.perf_counter() - started
        tool = Path(sys.executable).parent / "wacz"
        started = time.perf_counter()
        baseline = subprocess.run([str(tool), "validate", "-f", str(wacz)], capture_output=True, text=True)
        baseline_s = time.perf_counter() - started
        tsa.stop()
        figures = {
            "captures": summary.captures, "ledger_entries": summary.tree_size,
            "package_entries": summary.entries, "package_records": summary.records,
            "package_bytes": wacz.stat().st_size, "timestamped": summary.timestamped,
            "build_archive_s": round(build_s, 2), "write_package_s": round(package_s, 3),
            "verify_ok": report.ok, "verify_captures_proved": len(report.captures),
            "verify_median_s": round(statistics.median(runs), 3),
            "verify_runs_s": [round(r, 3) for r in runs],
            "cli_verify_s": round(cli_s, 3), "cli_exit": cli.returncode,
            "wacz_validate_s": round(baseline_s, 3), "wacz_validate_exit": baseline.returncode,
            "verify_vs_wacz_validate": round(statistics.median(runs) / baseline_s, 3),
            "cli_verify_vs_wacz_validate": round(cli_s / baseline_s, 3),
            "loadavg": os.getloadavg(), "cpus": os.cpu_count(),
        }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=1))
    for name, value in figures.items():
        print(f"{name:28} {value}")


if __name__ == "__main__":
    main()
