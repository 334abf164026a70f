"""Packed ledger entries (issue 18, storage.ledgerform): bytes and verify time against canonical bodies.
Run from the repository root:

    .venv/bin/python bench/ledgerform_bench.py [--entries 50000] [--rounds 2]

``--entries`` synthetic capture rows (uuid record ids, hex sha256, three pinned block digests each)
get their ledger entries through ``ledger.append_entries`` (stored packed) in one SQLite database; a
copy has every body rewritten to its canonical form (as an archive written before packing). Printed:
the bytes of ``ledger_entries`` in each (a VACUUMed copy, SQLite's dbstat), the CPU cost of ``pack``
per entry, and ``ledger verify`` (one process, no WARCs) of the two alternated ``--rounds`` times:
wall and CPU seconds, with the load average. No asserts; figures also go to
bench/out/ledgerform_bench.json.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out" / "ledgerform_bench.json"


def _label(seed: str) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()


def _rows(start: int, stop: int) -> list[dict[str, Any]]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [{"id": i + 1, "url": f"https://site{i % 500}.example/page/{i}",
             "url_key": f"example,site{i % 500})/page/{i}", "captured_at": t0 + timedelta(seconds=i),
             "outcome": "captured", "http_status": 200,
             "final_url": f"https://site{i % 500}.example/page/{i}",
             "content_type": "text/html; charset=utf-8", "content_length": 10_000 + i % 977,
             "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
             "warc_file": "collector-20260101000000000000-host-1-00001.warc.gz",
             "warc_offset": i * 4000, "warc_length": 3900, "warc_record_id": f"<urn:uuid:{uuid.uuid4()}>",
             "payload_file": "collector-20260101000000000000-host-1-00001.warc.gz",
             "payload_offset": i * 4000, "payload_length": 3900,
             "records": [["response", i * 4000, 3900, None],
                         ["request", i * 4000 + 3900, 500, str(uuid.uuid4())],
                         ["metadata", i * 4000 + 4400, 600, str(uuid.uuid4()),
                          {"uri": f"urn:collector:capture:https://site{i % 500}.example/page/{i}"}]],
             "redirect_chain": []}
            for i in range(start, stop)]


def build(db: Path, entries: int) -> float:
    """The database of ``entries`` rows and packed entries; the CPU seconds ``pack`` took per entry."""
    from sqlalchemy import insert

    from storage import ledger, ledgerform
    from storage.archive import Archive
    from storage.models import Capture

    archive = Archive.open(f"sqlite:///{db}", db.parent / "warcs")
    pack_cpu = 0.0
    try:
        for start in range(0, entries, 5000):
            rows = _rows(start, min(entries, start + 5000))
            items = [(r["id"], {**ledger.capture_fields(r), ledger.BLOCK_DIGESTS: [
                _label(f"{r['id']}.{n}") for n in range(3)]}) for r in rows]
            with archive.sessions() as session, session.begin():
                session.execute(insert(Capture), rows)
                ledger.append_entries(session, ledger.CAPTURE, items)
            began = time.process_time()
            for row_id, fields in items:  # the packing alone, again
                body = ledger.entry_body(row_id, ledger.CAPTURE, row_id, fields, ledger.GENESIS)
                ledgerform.pack(row_id, ledger.CAPTURE, row_id, fields, ledger.GENESIS, body)
            pack_cpu += time.process_time() - began
    finally:
        archive.close()
    return pack_cpu / entries


def unpack_all(db: Path) -> None:
    """Rewrite every stored body to its canonical form (an archive from before packing)."""
    from storage.ledgerform import unpack

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT seq, kind, row_id, body FROM ledger_entries").fetchall()
    conn.executemany("UPDATE ledger_entries SET body = ? WHERE seq = ?",
                     [(unpack(body, seq, kind, row_id), seq) for seq, kind, row_id, body in rows])
    conn.commit()
    conn.close()


def table_bytes(db: Path, name: str) -> int:
    """Bytes of table ``name`` in a VACUUMed copy of ``db``."""
    with tempfile.TemporaryDirectory(prefix="ledgerform-bench-") as tmp:
        copy = Path(tmp) / "copy.db"
        src, dst = sqlite3.connect(db), sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("VACUUM")
        size = dst.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (name,)).fetchone()[0]
        dst.close()
    return int(size)


def verify(db: Path) -> tuple[float, float, bool]:
    """``ledger verify`` of ``db`` in this process: wall and CPU seconds, and whether it was ok."""
    from storage.archive import Archive
    from storage.ledgerverify import verify_ledger

    archive = Archive.open(f"sqlite:///{db}", db.parent / "warcs")
    try:
        began, cpu = time.perf_counter(), time.process_time()
        report = verify_ledger(archive.sessions, None, workers=1)
        return time.perf_counter() - began, time.process_time() - cpu, report.ok
    finally:
        archive.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledgerform-bench-") as tmp:
        packed = Path(tmp) / "packed" / "collector.db"
        canonical = Path(tmp) / "canonical" / "collector.db"
        packed.parent.mkdir()
        canonical.parent.mkdir()
        pack_us = build(packed, args.entries) * 1e6
        shutil.copy(packed, canonical)
        unpack_all(canonical)
        sizes = {"packed": table_bytes(packed, "ledger_entries"),
                 "canonical": table_bytes(canonical, "ledger_entries")}
        runs: dict[str, list[tuple[float, float, bool]]] = {"canonical": [], "packed": []}
        for _ in range(args.rounds):
            for name, db in (("canonical", canonical), ("packed", packed)):
                runs[name].append(verify(db))
    summary = {"entries": args.entries, "load_avg": os.getloadavg(), "pack_cpu_us_per_entry": pack_us,
               "ledger_entries_bytes_per_entry": {k: v / args.entries for k, v in sizes.items()},
               "verify": {k: {"wall_s": statistics.median(r[0] for r in v),
                              "cpu_s": statistics.median(r[1] for r in v), "ok": all(r[2] for r in v)}
                          for k, v in runs.items()}}
    per = summary["ledger_entries_bytes_per_entry"]
    print(f"{args.entries:,} capture entries, load average {summary['load_avg'][0]:.1f}")
    print(f"ledger_entries: canonical {per['canonical']:.0f} B/entry, packed {per['packed']:.0f} "
          f"B/entry ({per['packed'] / per['canonical']:.2f}x); pack {pack_us:.1f} µs CPU/entry")
    for name, got in summary["verify"].items():
        print(f"verify {name}: {got['wall_s']:.2f} s wall, {got['cpu_s']:.2f} s CPU, ok {got['ok']} "
              f"(median of {args.rounds})")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
