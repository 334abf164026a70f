"""Cited PDFs get their text extracted: `get --text`, report quotes, search and checks read it; a PDF
without a text layer ends as ``no-text``, never "pending"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.collector.capture.test_extraction import SENTENCE, _pdf
from tests.collector.cli.test_cli import lines, no_traceback, run


@pytest.fixture
def pdf_site() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local server of the PDFs put in its dict (path -> bytes); anything else is a 404."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/pdf" if body is not None else "text/plain")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_cited_pdf_text_is_extracted_and_used(pdf_site: tuple[str, dict[str, bytes]], home: Path,
                                              tmp_path: Path, db_url: str) -> None:
    site, files = pdf_site
    files["/ledger.pdf"] = _pdf(SENTENCE, "The pilots confirmed the winter figures.", title="Harbour Ledger")
    files["/scan.pdf"] = _pdf("", "")
    ledger, scan = f"{site}/ledger.pdf", f"{site}/scan.pdf"
    doc = tmp_path / "r.md"
    doc.write_text(f'The keeper wrote that "{SENTENCE}"[^a] A scan exists[^b].\n\n'
                   f"[^a]: Harbour office, Ledger, {ledger}\n[^b]: Scan, {scan}\n")
    db = ("--db", db_url)
    assert run(home, *db, "report", "add", str(doc), "--name", "r").returncode == 0
    captured = run(home, *db, "capture", "--report", "r", "--allow-private", "--json")
    no_traceback(captured)
    assert captured.returncode == 0, captured.stderr.decode()
    results = {o["url"]: o for o in lines(captured)}
    assert results[ledger]["extraction"] == "ok" and results[ledger]["text_sha256"]
    assert results[ledger]["title"] == "Harbour Ledger"
    assert results[scan]["extraction"] == "no-text"

    text = run(home, *db, "get", ledger, "--text")
    assert text.returncode == 0, text.stderr.decode()
    assert SENTENCE in text.stdout.decode()
    scanned = run(home, *db, "get", scan, "--text")
    no_traceback(scanned)
    assert scanned.returncode != 0
    assert "no-text" in scanned.stderr.decode() and "pending" not in scanned.stderr.decode()

    status = {row["ref"]: row for row in lines(run(home, *db, "report", "status", "r", "--json"))}
    assert [q["archived"] for q in status["^a"]["quotes"]] == [True]

    found = lines(run(home, *db, "search", "estuary after dark", "--json"))
    assert [hit["url"] for hit in found] == [ledger]

    checked = run(home, *db, "check", "--report", "r", "--allow-private", "--json")
    no_traceback(checked)
    verdicts = {o["ref"]: o for o in lines(checked)}
    assert verdicts["^a"]["status"] == "unchanged"
    assert verdicts["^a"]["quotes"][0]["archived"] is True and verdicts["^a"]["quotes"][0]["live"] is True
