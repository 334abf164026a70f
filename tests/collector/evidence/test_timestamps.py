"""RFC 3161 timestamps of ledger checkpoints: a local TSA (``openssl ts -reply``) timestamps each
checkpoint's statement; a TSA that is down leaves the checkpoint kept and untimestamped until
``collector ledger timestamp``; ``ledger verify`` checks every token (imprint, signature, chain)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from collector.config import Config
from collector.evidence.keys import create_key
from collector.evidence.ledger import checkpoint, timestamp_pending, verify
from collector.evidence.timestamps import TimestampError, check_token, request_token
from storage.archive import Archive
from storage.models import LedgerCheckpoint
from tests.collector.cli.test_ledger import as_json, run
from tests.collector.evidence.tsa import Tsa, make_pki, start_tsa
from tests.conftest import make_config
from tests.storage.helpers import T0, html_capture


def archive_with_rows(config: Config, count: int = 2, *, start: int = 0) -> Archive:
    """The archive of ``config`` with ``count`` more captures committed (ledger entries appended)."""
    archive = Archive.from_settings(config)
    archive.commit_captures([html_capture(f"https://example.org/{start + i}", T0 + timedelta(seconds=i),
                                          body=f"<p>page {start + i}</p>".encode())
                             for i in range(count)])
    return archive


def kinds(found: list[dict[str, object]]) -> set[object]:
    return {p["kind"] for p in found}


def test_token_checks(tsa: Tsa, tmp_path: Path) -> None:
    token, when = request_token(tsa.url, b"statement one")
    good = check_token(token, b"statement one", ca_pem=tsa.ca.read_bytes())
    assert good.chain_checked and good.time == when and "collector test TSA" in good.tsa
    assert not check_token(token, b"statement one").chain_checked  # no CA: imprint only
    with pytest.raises(TimestampError, match="another message"):
        check_token(token, b"statement two", ca_pem=tsa.ca.read_bytes())
    other_ca = make_pki(tmp_path / "other", ca_name="another CA")
    with pytest.raises(TimestampError, match="does not verify"):
        check_token(token, b"statement one", ca_pem=other_ca.read_bytes())
    tampered = bytearray(token)
    tampered[-30] ^= 0x01  # inside the CMS signature
    with pytest.raises(TimestampError):
        check_token(bytes(tampered), b"statement one", ca_pem=tsa.ca.read_bytes())
    assert tsa.requests and all(len(q) > 40 for q in tsa.requests)


def test_checkpoints_are_timestamped_and_a_token_of_another_root_is_found(
        db_url: str, home: Path, tsa: Tsa) -> None:
    config = make_config(home, database_url=db_url, tsa_url=tsa.url, tsa_ca_file=str(tsa.ca))
    create_key(config.signing_key_path)
    archive = archive_with_rows(config)
    try:
        first = checkpoint(archive, config)
        archive.commit_captures([html_capture("https://example.org/late", T0 + timedelta(minutes=1))])
        second = checkpoint(archive, config)
        assert first is not None and second is not None
        assert first.tsa_token and second.tsa_token and first.tsa_url == tsa.url
        imprint = hashlib.sha256(second.statement.encode()).digest()
        assert imprint in second.tsa_token  # the TSA was asked about this checkpoint's statement
        report = verify(archive, config)
        assert report.ok, report.problems
        assert not kinds(report.warnings) & {"timestamp-unchecked", "untimestamped-checkpoint"}
        # someone with database access gives checkpoint 2 the token of checkpoint 1 (another root)
        with archive.sessions() as session, session.begin():
            session.execute(update(LedgerCheckpoint).where(LedgerCheckpoint.id == second.id)
                            .values(tsa_token=first.tsa_token, tsa_time=first.tsa_time))
        report = verify(archive, config)
        assert kinds(report.problems) == {"timestamp-mismatch"}
        assert [p["checkpoint"] for p in report.problems] == [second.id]
    finally:
        archive.close()


def test_a_token_that_does_not_chain_to_the_configured_ca_is_a_problem(
        home: Path, tsa: Tsa, tmp_path: Path) -> None:
    other_ca = make_pki(tmp_path / "other", ca_name="another CA")
    config = make_config(home, tsa_url=tsa.url, tsa_ca_file=str(other_ca))
    archive = archive_with_rows(config)
    try:
        assert checkpoint(archive, config) is not None
        assert kinds(verify(archive, config).problems) == {"bad-timestamp"}
        without_ca = verify(archive, dataclasses.replace(config, tsa_ca_file=None))
        assert without_ca.ok and "timestamp-unchecked" in kinds(without_ca.warnings)
    finally:
        archive.close()


def test_tsa_down_keeps_the_checkpoint_and_ledger_timestamp_stamps_it_later(
        db_url: str, home: Path, tmp_path: Path) -> None:
    down = start_tsa(tmp_path / "down")
    down.stop()
    config = make_config(home, database_url=db_url, tsa_url=down.url, tsa_timeout=2.0)
    archive = archive_with_rows(config)
    try:
        kept = checkpoint(archive, config)  # the TSA cannot be reached: kept, untimestamped
        assert kept is not None and kept.tsa_token is None
        report = verify(archive, config)
        assert report.ok and "untimestamped-checkpoint" in kinds(report.warnings)
        done, errors = timestamp_pending(archive, config)  # still down
        assert done == [] and len(errors) == 1 and f"checkpoint {kept.id}" in errors[0]
    finally:
        archive.close()
    env = {"COLLECTOR_TSA_URL": down.url, "COLLECTOR_TSA_TIMEOUT": "2"}
    still_down = run(home, "ledger", "timestamp", "--json", db_url=db_url, env_extra=env)
    assert still_down.returncode == 1 and as_json(still_down)["timestamped"] == []
    up = start_tsa(tmp_path / "up")
    try:
        env = {"COLLECTOR_TSA_URL": up.url, "COLLECTOR_TSA_CA_FILE": str(up.ca)}
        stamped = run(home, "ledger", "timestamp", "--json", db_url=db_url, env_extra=env)
        assert stamped.returncode == 0, stamped.stderr
        assert [p["id"] for p in as_json(stamped)["timestamped"]] == [kept.id]
        assert len(up.requests) == 1
        again = run(home, "ledger", "timestamp", db_url=db_url, env_extra=env)
        assert again.returncode == 0 and "already timestamped" in again.stdout
        verified = as_json(run(home, "ledger", "verify", "--json", db_url=db_url, env_extra=env))
        assert verified["ok"] and "untimestamped-checkpoint" not in kinds(verified["warnings"])
    finally:
        up.stop()
    archive = Archive.from_settings(make_config(home, database_url=db_url))
    try:
        with archive.sessions() as session:
            rows = session.execute(select(LedgerCheckpoint.id, LedgerCheckpoint.tsa_url)).all()
        assert [tuple(r) for r in rows] == [(kept.id, up.url)]  # the same checkpoint, never a new one
    finally:
        archive.close()


def test_ledger_timestamp_without_a_tsa_says_what_to_set(home: Path) -> None:
    proc = run(home, "ledger", "timestamp")
    assert proc.returncode == 2 and "tsa_url" in proc.stderr


def test_a_capture_run_ends_with_a_timestamped_checkpoint(server: str, home: Path, tsa: Tsa) -> None:
    env = {"COLLECTOR_TSA_URL": tsa.url, "COLLECTOR_TSA_CA_FILE": str(tsa.ca)}
    assert run(home, "key", "create").returncode == 0
    proc = run(home, "capture", "--allow-private", server + "/page/ts1", env_extra=env)
    assert proc.returncode == 0, proc.stderr
    archive = Archive.from_settings(make_config(home))
    try:
        with archive.sessions() as session:
            rows = session.execute(select(LedgerCheckpoint.statement, LedgerCheckpoint.tsa_token)).all()
    finally:
        archive.close()
    [(statement, token)] = [tuple(r) for r in rows]
    assert check_token(token, statement.encode(), ca_pem=tsa.ca.read_bytes()).chain_checked
    verified = as_json(run(home, "ledger", "verify", "--json", env_extra=env))
    assert verified["ok"] and verified["warnings"] == []
