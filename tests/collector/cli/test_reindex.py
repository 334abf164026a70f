"""``collector reindex``: the database is an index of the WARC files and is rebuilt from them alone."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from collector.capture.run import capture_urls
from collector.cli.main import cli
from storage.archive import Archive
from storage.models import Capture
from tests.collector.capture.tls_servers import connect_proxy, https_server, issue
from tests.conftest import _reset_pg, make_config


class _Proc:
    """A CliRunner result with the attributes of a finished process (in-process: each command
    costs milliseconds, not a Python start-up)."""

    def __init__(self, result: Result) -> None:
        self.returncode = result.exit_code
        self.stdout = result.stdout_bytes
        self.stderr = result.stderr_bytes or b""
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output


def _cli(home: Path, db_url: str, *args: str) -> _Proc:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("COLLECTOR_")}
    env["COLLECTOR_EXTRACT_WORKERS"] = "1"
    return _Proc(CliRunner().invoke(cli, ["--home", str(home), "--db", db_url, *args], env=env))


def lines(proc: _Proc) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def _answers(home: Path, db_url: str, urls: list[str]) -> dict[str, Any]:
    """What snapshots, get --raw, get --text and verify say about every URL (the answers to keep)."""
    out: dict[str, Any] = {}
    for url in urls:
        snaps = _cli(home, db_url, "snapshots", url, "--json")
        out[f"snapshots {url}"] = (snaps.returncode, lines(snaps))
        raw = _cli(home, db_url, "get", url, "--raw")
        out[f"raw {url}"] = (raw.returncode, raw.stdout)
        text = _cli(home, db_url, "get", url, "--text", "--json")
        out[f"text {url}"] = (text.returncode, text.stdout)
    verify = _cli(home, db_url, "verify", "--json")
    out["verify"] = (verify.returncode, lines(verify))
    return out


def _tls_columns(home: Path, db_url: str) -> list[tuple[Any, ...]]:
    """(url, captured_at, TLS and proxy columns) of every capture row, in order."""
    archive = Archive.open(db_url, home / "warcs")
    try:
        with archive.sessions() as session:
            return [tuple(row) for row in session.execute(
                select(Capture.url, Capture.captured_at, Capture.tls_verified, Capture.tls_fingerprint,
                       Capture.tls_issuer, Capture.tls_detail, Capture.proxy)
                .order_by(Capture.captured_at, Capture.url))]
    finally:
        archive.close()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of an https server with a self-signed certificate."""
    with https_server(issue("reindex.test"), tmp_path_factory.mktemp("self-signed")) as url:
        yield url


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(key, raising=False)


def _drop_database(home: Path, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        for path in home.glob("collector.db*"):
            path.unlink()
    else:
        _reset_pg(db_url)


def test_reindex_after_deleting_the_database_answers_as_before(
        server: str, self_signed: str, home: Path, db_url: str, no_proxy_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{home / 'collector.db'}"
    config = make_config(home, database_url=db_url)
    urls = [server + "/page/reindex-a", server + "/status/404", server + "/redirect/2",
            server + "/same", server + "/doc.pdf", server + "/big?kb=3", server + "/reset"]
    first = {r["url"]: r for r in capture_urls(config, urls)}
    assert first[server + "/reset"]["outcome"] == "failed"
    again = capture_urls(config, [server + "/same"])[0]
    assert again["revisit_of"] == first[server + "/same"]["id"]
    # https: the certificate's verification (untrusted: self-signed), directly and through a proxy
    [direct] = capture_urls(config, [self_signed + "/tls"])
    with connect_proxy() as proxy:
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.server_address[1]}")
        [proxied] = capture_urls(config, [self_signed + "/proxied"])
        monkeypatch.delenv("https_proxy")
    assert (direct["tls_verified"], direct["proxy"]) == (False, None) and direct["tls_fingerprint"]
    assert proxied["proxy"] == f"http://127.0.0.1:{proxy.server_address[1]}"
    urls += [self_signed + "/tls", self_signed + "/proxied"]
    urls.append(server + "/page/final")  # the redirect chain's end, a memento of its own
    before = _answers(home, db_url, urls)
    tls_before = _tls_columns(home, db_url)
    assert before["verify"][0] == 0
    memento = _cli(home, db_url, "snapshots", server + "/redirect/1", "--json")

    _drop_database(home, db_url)
    gone = _cli(home, db_url, "snapshots", server + "/same", "--json")
    assert gone.returncode == 1  # the index is empty: nothing answers until reindex

    proc = _cli(home, db_url, "reindex", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    [summary] = lines(proc)
    assert summary["captures"] == 10 and summary["failed"] == 1 and summary["revisits"] == 1
    assert summary["hops"] >= 1 and summary["texts"] >= 3 and summary["ok"]

    after = _answers(home, db_url, urls)
    for key in before:
        assert after[key] == before[key], key
    assert _tls_columns(home, db_url) == tls_before
    assert lines(_cli(home, db_url, "snapshots", server + "/redirect/1", "--json")) == lines(memento)


def test_reindex_refuses_a_database_with_captures_unless_forced(server: str, home: Path) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    config = make_config(home, database_url=db_url)
    capture_urls(config, [server + "/page/forced"])
    proc = _cli(home, db_url, "reindex")
    assert proc.returncode == 1
    assert b"already has 1 captures" in proc.stderr and b"--force" in proc.stderr
    before = lines(_cli(home, db_url, "snapshots", server + "/page/forced", "--json"))

    proc = _cli(home, db_url, "reindex", "--force", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    [summary] = lines(proc)
    kept = Path(summary["kept"])
    assert kept.name.startswith("collector.db.before-reindex-") and kept.exists()
    with sqlite3.connect(kept) as old:
        assert old.execute("SELECT count(*) FROM captures").fetchone() == (1,)
    assert lines(_cli(home, db_url, "snapshots", server + "/page/forced", "--json")) == before


@pytest.mark.parametrize("garbage", [b"", b"not a warc at all\r\n\r\n"])
def test_reindex_names_an_unreadable_file_and_goes_on(server: str, home: Path,
                                                      garbage: bytes) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    config = make_config(home, database_url=db_url)
    capture_urls(config, [server + "/page/goes-on"])
    for path in home.glob("collector.db*"):
        path.unlink()
    bad = home / "warcs" / "zzz-broken.warc.gz"
    bad.write_bytes(garbage + b"\x1f\x8b\x08garbage")
    proc = _cli(home, db_url, "reindex", "--json")
    assert proc.returncode == 1
    [summary] = lines(proc)
    assert [e["file"] for e in summary["errors"]] == ["zzz-broken.warc.gz"]
    assert summary["captures"] == 1
    snaps = lines(_cli(home, db_url, "snapshots", server + "/page/goes-on", "--json"))
    assert json.dumps(snaps) and snaps[0]["outcome"] == "captured"
