"""``collector warc consolidate``: small files merged, every capture still read back, verify ok."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.conftest import warcio_check


def test_consolidate_merges_the_small_files_of_a_home(server: str, home: Path) -> None:
    # a small rotation size: every run finds the file full and starts its own
    (home / "collector.toml").write_text("warc_max_bytes = 1500\n")
    captured = []
    for n in range(3):
        proc = run(home, "capture", "--allow-private", "--json", f"{server}/page/merge-{n}")
        assert proc.returncode == 0, proc.stderr.decode()
        captured.extend(lines(proc))
    warcs = home / "warcs"
    files = sorted(p.name for p in warcs.glob("*.warc.gz"))
    assert len(files) >= 3  # (a run's texts may start another file, too)
    (home / "collector.toml").write_text("warc_max_bytes = 1048576\n")

    dry = run(home, "warc", "consolidate", "--dry-run")
    no_traceback(dry)
    assert dry.returncode == 0, dry.stderr.decode()
    assert f"done: {len(files)} WARC files would become 1" in dry.stdout.decode()
    assert sorted(p.name for p in warcs.glob("*.warc.gz")) == files

    proc = run(home, "warc", "consolidate", "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    [report] = lines(proc)
    assert report["files_before"] == len(files) and report["files_after"] == 1
    [merged] = list(warcs.glob("*.warc.gz"))
    assert report["merged"][0]["into"] == merged.name
    assert report["merged"][0]["files"] == files

    verify = run(home, "verify", "--json")
    assert verify.returncode == 0, verify.stdout.decode()
    assert json.loads(verify.stdout)["captures_checked"] == 3
    for capture in captured:  # every capture is read back from the merged file, byte for byte
        got = run(home, "get", capture["url"], "--raw")
        assert got.returncode == 0, got.stderr.decode()
        assert hashlib.sha256(got.stdout).hexdigest() == capture["sha256"]
    warcio_check(home)
