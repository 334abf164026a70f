"""``collector import``: WARC, WARC.gz and WACZ files made by other tools become captures like
collector's own (snapshots, get --raw/--text, verify), and a file imported twice adds nothing."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from collector.capture.run import capture_urls
from collector.cli.options import open_sessions
from collector.reports.exports import export_report
from collector.reports.versions import add_report
from collector.server import ServerContext
from storage.database import connect
from storage.queries import mementos
from tests.collector.capture.test_run import fetch_raw
from tests.collector.cli.test_reindex import _cli, lines
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config

WGET = "/usr/bin/wget"


def _no_proxy_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def wget_warc(tmp_path: Path, *urls: str, name: str = "wget-crawl", options: tuple[str, ...] = ()
              ) -> Path:
    """A WARC.gz written by wget --warc-file fetching ``urls``."""
    stem = tmp_path / name
    proc = subprocess.run([WGET, "-q", f"--warc-file={stem}", *options, "-O", "/dev/null", *urls],
                          env=_no_proxy_env(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return stem.with_name(stem.name + ".warc.gz")


def warcio_warc(tmp_path: Path, name: str, *urls: str) -> Path:
    """A WARC written by warcio's capture_http (gzip unless ``name`` ends in ``.warc``)."""
    out = tmp_path / name
    script = tmp_path / "capture.py"
    script.write_text(textwrap.dedent(f"""
        from warcio.capture_http import capture_http
        import requests  # after capture_http, as warcio asks
        with capture_http({str(out)!r}, gzip={not name.endswith('.warc')!r}):
            for url in {list(urls)!r}:
                requests.get(url, proxies={{"http": "", "https": ""}})
        """))
    proc = subprocess.run([sys.executable, str(script)], env=_no_proxy_env(), capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out


def assert_served_like_own(home: Path, db_url: str, urls: list[str]) -> None:
    for url in urls:
        [snap] = lines(_cli(home, db_url, "snapshots", url, "--json"))
        assert snap["outcome"] == "captured" and snap["http_status"] == 200
        raw = _cli(home, db_url, "get", url, "--raw")
        assert raw.returncode == 0 and raw.stdout == fetch_raw(url)
        assert snap["sha256"] is not None
    verify = _cli(home, db_url, "verify", "--json")
    assert verify.returncode == 0, verify.stdout
    assert lines(verify)[0]["problems"] == []


def test_wget_warc_is_imported_once(server: str, home: Path, tmp_path: Path, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{home / 'collector.db'}"
    urls = [server + "/page/wget-a", server + "/page/wget-b"]
    warc = wget_warc(tmp_path, *urls, server + "/redirect/1")
    proc = _cli(home, db_url, "import", str(warc), "--json")
    assert proc.returncode == 0, proc.stderr
    [summary] = lines(proc)
    assert summary["captures"] == 4 and summary["captured"] == 4  # a, b, the 302, its target
    assert summary["skipped_records"] == {"warcinfo": 1, "metadata": 1, "resource": 2}
    assert summary["stored"] == [warc.name] and (home / "warcs" / warc.name).read_bytes() == \
        warc.read_bytes()
    assert_served_like_own(home, db_url, [*urls, server + "/page/final"])
    text = lines(_cli(home, db_url, "get", urls[0], "--text", "--json"))[0]
    assert "wget-a" in text["text"]
    [moved] = lines(_cli(home, db_url, "snapshots", server + "/redirect/1", "--json"))
    assert moved["http_status"] == 302

    files = sorted((home / "warcs").iterdir())
    again = lines(_cli(home, db_url, "import", str(warc), "--json"))[0]
    assert again["captures"] == 0 and again["already_indexed"] == 4
    assert sorted((home / "warcs").iterdir()) == files  # not copied again, nothing extracted
    assert len(lines(_cli(home, db_url, "snapshots", urls[0], "--json"))) == 1


def test_wget_revisit_points_at_its_original(server: str, home: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    url = server + "/same"
    first = wget_warc(tmp_path, url, name="first", options=("--warc-cdx",))
    second = wget_warc(tmp_path, url, name="second", options=(f"--warc-dedup={tmp_path / 'first.cdx'}",))
    proc = _cli(home, db_url, "import", str(first), str(second), "--json")
    assert proc.returncode == 0, proc.stderr
    assert lines(proc)[0]["revisits"] == 1
    original, revisit = lines(_cli(home, db_url, "snapshots", url, "--json"))
    assert revisit["revisit_of"] == original["id"]
    assert revisit["sha256"] == original["sha256"] == hashlib.sha256(fetch_raw(url)).hexdigest()
    assert revisit["text_sha256"] == original["text_sha256"] is not None
    raw = _cli(home, db_url, "get", url, "--at", revisit["captured_at"], "--raw")
    assert raw.stdout == fetch_raw(url)
    # wget's revisit carries the whole response's block digest (WARC-Truncated: length)
    assert _cli(home, db_url, "verify").returncode == 0
    with open_sessions(make_config(home, database_url=db_url)) as sessions:
        assert len(mementos(sessions, url)) == 2


def test_warcio_warcs_gzipped_and_plain(server: str, home: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    gz = warcio_warc(tmp_path, "warcio.warc.gz", server + "/page/warcio-gz")
    plain = warcio_warc(tmp_path, "plain.warc", server + "/page/warcio-plain")
    proc = _cli(home, db_url, "import", str(gz), str(plain), "--json")
    assert proc.returncode == 0, proc.stderr
    [summary] = lines(proc)
    assert summary["captures"] == 2 and summary["stored"] == ["warcio.warc.gz", "plain.warc.gz"]
    # the plain file's records are stored unchanged, one gzip member each
    assert gzip.decompress((home / "warcs" / "plain.warc.gz").read_bytes()) == plain.read_bytes()
    assert_served_like_own(home, db_url, [server + "/page/warcio-gz",
                                          server + "/page/warcio-plain"])


def test_a_wacz_exported_by_collector_imports_into_a_fresh_home(
        server: str, tmp_path: Path) -> None:
    source = make_config(tmp_path / "source")
    urls = [server + "/page/wacz-a", server + "/status/404"]
    report = tmp_path / "report.txt"
    report.write_text(f'A claim [1]. Another [2].\n\nNotes\n\n1. Site, "A page", {urls[0]}\n'
                      f'2. Site, "Gone", {urls[1]}\n')
    add_report(source, str(report), name="r")
    originals = {r["url"]: r for r in capture_urls(source, urls)}
    wacz = tmp_path / "r.wacz"
    with open(wacz, "wb") as fh:
        export_report(source, "r", "wacz", fh)

    home = tmp_path / "fresh"
    db_url = f"sqlite:///{home / 'collector.db'}"
    proc = _cli(home, db_url, "import", str(wacz), "--json")
    assert proc.returncode == 0, proc.stderr
    [summary] = lines(proc)
    assert summary["captures"] == 2 and summary["texts"] == 2 and summary["extracted"] == 0
    assert summary["stored"] == ["r-data.warc.gz"]
    for url in urls:
        [snap] = lines(_cli(home, db_url, "snapshots", url, "--json"))
        for key in ("captured_at", "http_status", "sha256", "text_sha256", "title", "outcome"):
            assert snap[key] == originals[url][key], key
        raw = _cli(home, db_url, "get", url, "--raw")
        assert raw.returncode == 0 and hashlib.sha256(raw.stdout).hexdigest() == snap["sha256"]
    assert _cli(home, db_url, "verify").returncode == 0


def test_bad_files_are_named_and_the_others_go_on(server: str, home: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    good = wget_warc(tmp_path, server + "/page/good-one")
    not_warc = tmp_path / "notes.warc.gz"
    not_warc.write_bytes(b"this is not a WARC file\n")
    truncated = tmp_path / "truncated.warc.gz"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    zip_not_wacz = tmp_path / "nothing.wacz"
    with zipfile.ZipFile(zip_not_wacz, "w") as zf:
        zf.writestr("readme.txt", "hello")
    proc = _cli(home, db_url, "import", str(not_warc), str(truncated), str(zip_not_wacz),
                str(good), "--json")
    assert proc.returncode == 1
    [summary] = lines(proc)
    assert [e["file"] for e in summary["errors"]] == [str(not_warc), str(truncated),
                                                      str(zip_not_wacz)]
    assert all(e["file"] in e["error"] for e in summary["errors"])
    assert summary["captures"] == 1
    assert good.name in [p.name for p in (home / "warcs").iterdir()]
    assert not {not_warc.name, truncated.name} & {p.name for p in (home / "warcs").iterdir()}
    human = _cli(home, db_url, "import", str(truncated))
    assert human.returncode == 1 and str(truncated).encode() in human.stderr


@pytest.mark.parametrize("name", ["missing.warc.gz"])
def test_a_missing_file_is_an_error_naming_it(home: Path, tmp_path: Path, name: str) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    proc = _cli(home, db_url, "import", str(tmp_path / name))
    assert proc.returncode == 1 and name.encode() in proc.stderr


def test_imported_captures_are_served_as_mementos(server: str, home: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{home / 'collector.db'}"
    url = server + "/page/served"
    assert _cli(home, db_url, "import", str(wget_warc(tmp_path, url))).returncode == 0
    [snap] = lines(_cli(home, db_url, "snapshots", url, "--json"))
    stamp = "".join(ch for ch in snap["captured_at"] if ch.isdigit())[:14]
    config = make_config(home, database_url=db_url)
    with running(ServerContext(config=config, sessions=connect(db_url))) as base:
        raw = fetch(f"{base}/web/{stamp}id_/{url}")
        assert raw.status == 200 and raw.body == fetch_raw(url)
        timemap = fetch(f"{base}/timemap/link/{url}")
        assert timemap.status == 200 and f"/web/{stamp}" in timemap.text
