"""Import into a full home: the cost of the "already imported" check. Run from the repository root:

    .venv/bin/python bench/import_bench.py [--rows 50000] [--records 20] [--db URL]

Makes a home whose database has ``--rows`` synthetic capture rows (record ids ``<urn:uuid:...>``, as
collector writes them), writes a small WARC file of ``--records`` pages with warcio, and imports it with
``storage.reindex.index_files`` (no text extraction), twice: once timed, once under tracemalloc (the
peak of Python allocations during the import). The second import of the same file must find every
record already indexed. No asserts: figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage.archive import Archive
from storage.models import Capture
from storage.reindex import index_files


def _fill(archive: Archive, rows: int) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with archive.sessions() as session, session.begin():
        for base in range(0, rows, 10_000):
            session.execute(insert(Capture), [{
                "url": f"http://site{i % 1000:03d}.test/a/{i}", "url_key": f"test,site{i % 1000:03d})/a/{i}",
                "captured_at": start + timedelta(seconds=i), "outcome": "captured", "http_status": 200,
                "redirect_chain": [], "sha256": f"{i:064x}", "warc_file": "old.warc.gz",
                "warc_offset": i * 1000, "warc_length": 1000,
                "warc_record_id": f"<urn:uuid:{uuid.UUID(int=i)}>", "records": [],
                "ignore_robots": False, "allow_private": False}
                for i in range(base, min(rows, base + 10_000))])


def _warc(path: Path, records: int) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i in range(records):
            body = f"<html><body><p>page {i}</p></body></html>".encode()
            head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"http://import.test/p/{i}", "response", payload=io.BytesIO(body),
                http_headers=head))


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "warcs").mkdir()
        archive = Archive.open(args.db or f"sqlite:///{home / 'collector.db'}", home / "warcs")
        try:
            _fill(archive, args.rows)
            _warc(home / "warcs" / "small.warc.gz", args.records)
            began = time.perf_counter()
            first = index_files(archive, ["small.warc.gz"])
            seconds = time.perf_counter() - began
            tracemalloc.start()
            again = index_files(archive, ["small.warc.gz"])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            archive.close()
    print(json.dumps({"rows": args.rows, "records": args.records, "import_seconds": round(seconds, 4),
                      "captures": first.captures, "already_indexed_again": again.already_indexed,
                      "reimport_peak_mib": round(peak / 2**20, 2)}))


if __name__ == "__main__":
    main()
