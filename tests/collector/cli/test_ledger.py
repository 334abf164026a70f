"""``collector key`` and ``collector ledger``: keys of mode 0600, a signed checkpoint at the end of every
capture run, ``ledger verify`` exit codes, and a ledger that survives SIGKILL mid-run."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization

from storage.archive import Archive
from storage.database import make_engine
from storage.ledgerverify import verify_ledger
from storage.verify import verify_archive
from tests.collector.capture.test_crash import kill_capture_mid_run
from tests.conftest import make_config


def run(home: Path, *args: str, db_url: str | None = None,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``collector`` in a subprocess on ``home`` (and ``db_url`` when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0", **(env_extra or {})})
    if db_url:
        env["COLLECTOR_DATABASE_URL"] = db_url
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "collector", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_key_create_show_export(home: Path) -> None:
    made = run(home, "key", "create", "--json")
    assert made.returncode == 0, made.stderr
    for name in ("signing-key.pem", "wacz-signing-key.pem"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    shown = as_json(run(home, "key", "show", "--json"))
    exported = as_json(run(home, "key", "export-public", "--json"))
    assert shown["fingerprint"] == as_json(made)["fingerprint"] == exported["fingerprint"]
    assert exported["fingerprint"] == hashlib.sha256(bytes.fromhex(exported["public_key"])).hexdigest()
    wacz = exported["wacz"]
    assert shown["wacz"]["fingerprint"] == as_json(made)["wacz"]["fingerprint"] == wacz["fingerprint"]
    der = serialization.load_pem_public_key(wacz["pem"].encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert wacz["fingerprint"] == hashlib.sha256(der).hexdigest() != exported["fingerprint"]
    pem = run(home, "key", "export-public").stdout
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in pem
    assert pem.count("BEGIN PUBLIC KEY") == 2 and wacz["pem"] in pem
    text = run(home, "key", "show").stdout
    assert f"fingerprint: {shown['fingerprint']}" in text
    assert f"wacz fingerprint: {wacz['fingerprint']}" in text
    again = run(home, "key", "create")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert as_json(run(home, "key", "show", "--json"))["fingerprint"] == shown["fingerprint"]


def test_key_with_loose_mode_is_refused(home: Path) -> None:
    assert run(home, "key", "create").returncode == 0
    path = home / "signing-key.pem"
    path.chmod(0o644)
    shown = run(home, "key", "show")
    assert shown.returncode == 2
    assert "mode 0644" in shown.stderr and str(path) in shown.stderr


def test_key_file_from_the_environment(home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "secrets" / "archive.pem"
    env = {"COLLECTOR_KEY_FILE": str(elsewhere)}
    assert run(home, "key", "create", env_extra=env).returncode == 0
    assert elsewhere.exists() and not (home / "signing-key.pem").exists()
    assert (home / "wacz-signing-key.pem").exists()  # COLLECTOR_WACZ_KEY_FILE not given: the home's
    wacz_elsewhere = tmp_path / "secrets" / "wacz.pem"
    env["COLLECTOR_WACZ_KEY_FILE"] = str(wacz_elsewhere)
    assert run(home, "key", "create", env_extra=env).returncode == 0  # only the WACZ key was missing
    shown = as_json(run(home, "key", "show", "--json", env_extra=env))
    assert shown["wacz"]["path"] == str(wacz_elsewhere) and wacz_elsewhere.exists()
    assert run(home, "key", "show", env_extra=env).returncode == 0
    missing = run(home, "key", "show")  # no key in the home
    assert missing.returncode == 1 and "no key at" in missing.stderr


def test_capture_run_ends_with_a_signed_checkpoint_and_verify_finds_tampering(
        server: str, home: Path, db_url: str) -> None:
    assert run(home, "key", "create").returncode == 0
    proc = run(home, "capture", "--allow-private", "--json", server + "/page/l1",
               server + "/page/l2", db_url=db_url)
    assert proc.returncode == 0, proc.stderr
    report = as_json(run(home, "ledger", "verify", "--json", db_url=db_url))
    assert report["ok"], report
    assert report["entries_checked"] == 4  # two captures, two texts
    assert report["checkpoints_checked"] == 1 and report["warnings"] == []
    engine = make_engine(db_url)  # registers collector_inflate (the index trigger needs it)
    try:
        with engine.begin() as conn:
            signed = conn.execute(sa.text("SELECT tree_size, signature FROM ledger_checkpoints")).all()
            assert [(size, sig is not None) for size, sig in signed] == [(4, True)]
            conn.execute(sa.text("DELETE FROM search_documents"))
            conn.execute(sa.text("DELETE FROM extractions"))
            conn.execute(sa.text("DELETE FROM captures WHERE id = (SELECT max(id) FROM captures)"))
    finally:
        engine.dispose()
    assert run(home, "verify", db_url=db_url).returncode == 0  # the old check sees nothing wrong
    proc = run(home, "ledger", "verify", "--json", db_url=db_url)
    assert proc.returncode == 1
    assert {p["kind"] for p in as_json(proc)["problems"]} == {"row-deleted"}
    assert run(home, "ledger", "checkpoint", db_url=db_url).returncode == 0


def test_verify_with_another_public_key_fails(server: str, home: Path, tmp_path: Path) -> None:
    assert run(home, "key", "create").returncode == 0
    assert run(home, "capture", "--allow-private", server + "/page/l3").returncode == 0
    other_home = tmp_path / "other"
    assert run(other_home, "key", "create").returncode == 0
    pub = tmp_path / "other.pub"
    pub.write_text(run(other_home, "key", "export-public").stdout)
    proc = run(home, "ledger", "verify", "--json", "--key", str(pub))
    assert proc.returncode == 1
    assert {p["kind"] for p in as_json(proc)["problems"]} == {"foreign-key"}


def test_without_a_key_checkpoints_are_unsigned_and_verify_warns(server: str, home: Path) -> None:
    assert run(home, "capture", "--allow-private", server + "/page/l4").returncode == 0
    proc = run(home, "ledger", "verify", "--json")
    assert proc.returncode == 0, proc.stdout
    assert {w["kind"] for w in as_json(proc)["warnings"]} == {"unsigned-checkpoint",
                                                             "signatures-unchecked"}


@pytest.mark.slow  # SIGKILL mid-run
def test_ledger_survives_sigkill_mid_run(server: str, home: Path, tmp_path: Path) -> None:
    kill_capture_mid_run(server, home, tmp_path)

    config = make_config(home)
    archive = Archive.open(config.db_url, config.warc_dir)
    try:
        assert verify_archive(archive.sessions, config.warc_dir).ok
        report = verify_ledger(archive.sessions, config.warc_dir)
        assert report.ok, report.problems  # no entry without its row, no row without its entry
        with archive.sessions() as session:
            captures = session.scalar(sa.text("SELECT count(*) FROM captures"))
            entries = session.scalar(sa.text("SELECT count(*) FROM ledger_entries "
                                             "WHERE kind = 'capture'"))
        assert captures == entries and captures >= 40
    finally:
        archive.close()


@pytest.mark.slow  # 10,000 entries, worker processes
def test_verify_in_worker_processes_from_the_command_line(home: Path) -> None:
    """``ledger verify --workers 2`` under ``python -m collector``: the second range is checked in a
    spawned process (which must not run the command again) and finds what one process finds."""
    from datetime import UTC, datetime, timedelta

    from storage import ledger
    from storage.models import Capture

    archive = Archive.open(f"sqlite:///{home / 'collector.db'}", home / "warcs")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        for start in range(0, 10_000, 2_500):
            rows = [{"id": i, "url": f"https://example.com/{i}", "url_key": f"com,example)/{i}",
                     "captured_at": t0 + timedelta(seconds=i), "outcome": "captured",
                     "http_status": 200, "sha256": f"{i:064x}", "warc_file": "x.warc.gz",
                     "warc_offset": i * 100, "warc_length": 100, "records": [["response", i, 1]]}
                    for i in range(start + 1, start + 2_501)]
            with archive.sessions() as session, session.begin():
                session.execute(sa.insert(Capture), rows)
                ledger.append_entries(session, ledger.CAPTURE,
                                      [(r["id"], ledger.capture_fields(r)) for r in rows])
        archive.checkpoint()
        with archive.sessions() as session, session.begin():
            session.execute(sa.update(Capture).where(Capture.id == 9_000).values(http_status=203))
    finally:
        archive.close()
    alone = as_json(run(home, "ledger", "verify", "--no-warc", "--workers", "1", "--json"))
    proc = run(home, "ledger", "verify", "--no-warc", "--workers", "2", "--json")
    assert proc.returncode == 1, proc.stderr
    report = as_json(proc)
    assert report == alone
    assert report["entries_checked"] == 10_000
    assert [(p["kind"], p["row_id"]) for p in report["problems"]] == [("row-rewritten", 9_000)]
