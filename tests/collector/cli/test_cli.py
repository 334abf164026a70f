"""The command line as users and other tools run it: a real process, real exit codes, JSON lines."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from collector.cli.main import cli
from tests.collector.capture.test_run import fetch_raw
from tests.conftest import warcio_check

CAPTURE_FIELDS = {"url", "captured_at", "outcome", "reason", "http_status", "final_url", "sha256",
                  "text_sha256", "warc_file", "warc_offset"}


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``collector`` in a subprocess with ``COLLECTOR_HOME=home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0"})
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "collector", *args], env=env,
                          capture_output=True, timeout=120,
                          input=stdin.encode() if stdin else None)


def lines(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def no_traceback(proc: subprocess.CompletedProcess[bytes]) -> None:
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    assert b"Traceback" not in proc.stdout


def test_capture_json_contract_and_exit_zero(server: str, home: Path) -> None:
    proc = run(home, "capture", "--allow-private", "--json", server + "/page/c1",
               server + "/page/c2")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    out = lines(proc)
    assert len(out) == 2
    for obj in out:
        assert obj.keys() >= CAPTURE_FIELDS
        assert obj["outcome"] == "captured"
        assert obj["sha256"] == hashlib.sha256(fetch_raw(obj["url"])).hexdigest()
        assert obj["captured_at"].endswith("Z") and "." in obj["captured_at"]


def test_batch_with_bad_input_goes_on_and_exits_one(server: str, home: Path) -> None:
    proc = run(home, "capture", "--allow-private", "--json", "file:///etc/passwd",
               server + "/page/ok", "http://exa mple.com/")
    no_traceback(proc)
    assert proc.returncode == 1
    by_url = {o["url"]: o for o in lines(proc)}
    assert by_url[server + "/page/ok"]["outcome"] == "captured"
    assert by_url["file:///etc/passwd"]["outcome"] == "skipped"
    assert "file:" in by_url["file:///etc/passwd"]["reason_detail"]
    assert by_url["http://exa mple.com/"]["outcome"] == "skipped"


def test_private_refused_without_flag(server: str, home: Path) -> None:
    proc = run(home, "capture", "--json", server + "/page/p")
    no_traceback(proc)
    assert proc.returncode == 1
    assert lines(proc)[0]["reason"] == "private-address"


def test_usage_errors_exit_two(home: Path, tmp_path: Path) -> None:
    assert run(home, "capture").returncode == 2
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n\n")
    proc = run(home, "capture", "--from-file", str(empty))
    no_traceback(proc)
    assert proc.returncode == 2 and str(empty).encode() in proc.stderr
    proc = run(home, "capture", "--from-file", str(tmp_path / "missing.txt"))
    no_traceback(proc)
    assert proc.returncode == 2 and b"missing.txt" in proc.stderr
    proc = run(home, "get", "http://example.org/", "--at", "yesterday-ish")
    no_traceback(proc)
    assert proc.returncode == 2 and b"yesterday-ish" in proc.stderr


def test_snapshots_get_at_and_raw(server: str, home: Path) -> None:
    url = server + "/counter"
    first = lines(run(home, "capture", "--allow-private", "--json", url))[0]
    time.sleep(0.05)
    second = lines(run(home, "capture", "--allow-private", "--json", url))[0]
    assert first["sha256"] != second["sha256"]

    snaps = lines(run(home, "snapshots", "--json", url + "?utm_source=newsletter#x"))
    assert [s["sha256"] for s in snaps] == [first["sha256"], second["sha256"]]
    for snap in snaps:
        assert {"captured_at", "http_status", "sha256", "text_sha256", "outcome"} <= snap.keys()

    at_first = run(home, "get", url, "--at", first["captured_at"], "--raw")
    assert at_first.returncode == 0
    assert hashlib.sha256(at_first.stdout).hexdigest() == first["sha256"]
    latest = run(home, "get", url, "--raw")
    assert hashlib.sha256(latest.stdout).hexdigest() == second["sha256"]
    before_second = run(home, "get", url, "--at", second["captured_at"], "--before", "--json")
    assert lines(before_second)[0]["sha256"] == second["sha256"]

    text = run(home, "get", url, "--text", "--json")
    assert lines(text)[0]["text_sha256"] == second["text_sha256"]
    assert "Visit number" in lines(text)[0]["text"]
    headers = run(home, "get", url, "--headers")
    assert headers.stdout.startswith(b"HTTP/1.1 200")

    warc = run(home, "get", url, "--at", first["captured_at"], "--warc")
    out_dir = home / "export"
    (out_dir / "warcs").mkdir(parents=True)
    (out_dir / "warcs" / "one.warc.gz").write_bytes(warc.stdout)
    warcio_check(out_dir)


def test_get_without_capture_fails_cleanly(home: Path) -> None:
    proc = run(home, "get", "https://never-captured.example/", "--raw")
    no_traceback(proc)
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert b"never-captured.example" in proc.stderr
    proc = run(home, "snapshots", "https://never-captured.example/")
    assert proc.returncode == 1


def test_verify_catches_a_flipped_byte(server: str, home: Path) -> None:
    capture = lines(run(home, "capture", "--allow-private", "--json", server + "/page/v"))[0]
    ok = run(home, "verify", "--json")
    assert ok.returncode == 0
    report = lines(ok)[0]
    assert report["problems"] == [] and report["records_checked"] >= 3  # response, request, text

    import gzip
    import zlib

    path = home / "warcs" / capture["warc_file"]
    data = path.read_bytes()
    offset = capture["warc_offset"]
    dec = zlib.decompressobj(31)
    member = dec.decompress(data[offset:])
    end = len(data) - len(dec.unused_data)
    flipped = member.replace(b"Article v", b"Article w", 1)
    assert flipped != member
    path.write_bytes(data[:offset] + gzip.compress(flipped) + data[end:])

    bad = run(home, "verify", "--json")
    no_traceback(bad)
    assert bad.returncode == 1
    kinds = {p["kind"] for p in lines(bad)[0]["problems"]}
    assert "sha256-mismatch" in kinds or "payload-digest-mismatch" in kinds
    raw = run(home, "get", server + "/page/v", "--raw")
    assert raw.returncode == 1 and b"does not match" in raw.stderr


def test_every_command_has_help_with_example() -> None:
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help"
        if name != "demo":
            assert "Example" in command.help, f"{name} help has no example"


@pytest.mark.parametrize("command", ["capture", "snapshots", "get", "verify", "demo"])
def test_help_runs(command: str, home: Path) -> None:
    proc = run(home, command, "--help")
    assert proc.returncode == 0 and b"Usage:" in proc.stdout


def test_demo_runs_offline(tmp_path: Path) -> None:
    proc = run(tmp_path / "unused", "--home", str(tmp_path / "demo"), "demo", "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    summary = lines(proc)[0]
    verdicts = {u["url"].rsplit("/", 1)[1]: u["verdict"] for u in summary["urls"]}
    assert verdicts["report.html"].startswith("identical")
    assert verdicts["ministry-statement.html"].startswith("page chrome changed")
    assert verdicts["river-low.html"] == "MAIN TEXT CHANGED"
    assert verdicts["readings.html"].startswith("gone")


def test_capture_json_goes_to_stdout_while_the_bar_is_on_a_terminal(server: str,
                                                                    home: Path) -> None:
    """`collector capture --json > file` with stderr on a terminal: the JSON still reaches stdout."""
    from tests.terminal import run_with_terminal_stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0"})
    code, out, terminal = run_with_terminal_stderr(lambda fd: subprocess.Popen(
        [sys.executable, "-m", "collector", "capture", "--allow-private", "--json",
         server + "/page/t1", server + "/page/t2"], env=env, stdout=subprocess.PIPE, stderr=fd))
    assert code == 0, terminal
    assert sorted(json.loads(line)["url"] for line in out.decode().splitlines()) == [
        server + "/page/t1", server + "/page/t2"]
    assert '"sha256"' not in terminal


def test_get_at_says_how_far_the_capture_is(server: str, home: Path) -> None:
    url = server + "/page/far"
    assert run(home, "capture", "--allow-private", url).returncode == 0
    far = run(home, "get", url, "--at", "2001-01-01", "--json")
    no_traceback(far)
    [obj] = lines(far)
    assert obj["distance_seconds"] > 20 * 365 * 86400  # the capture is decades after 2001
    assert b"years" in far.stderr and b"after the time asked" in far.stderr
    near = run(home, "get", url, "--at", obj["captured_at"], "--json")
    assert lines(near)[0]["distance_seconds"] == 0 and near.stderr == b""
    assert "distance_seconds" not in lines(run(home, "get", url, "--json"))[0]  # no --at: no distance


def test_diff_json(server: str, home: Path) -> None:
    url = server + "/counter"  # different text on every request
    for _ in range(2):
        assert run(home, "capture", "--allow-private", url).returncode == 0
    proc = run(home, "diff", url, "--json")
    no_traceback(proc)
    [obj] = lines(proc)
    assert obj["mode"] == "text" and obj["identical"] is False and 0 < obj["similarity"] < 1
    assert obj["from"]["id"] < obj["to"]["id"] and obj["from"]["captured_at"].endswith("Z")
    assert obj["diff"].startswith("--- ") and "\n+" in obj["diff"]
    raw = lines(run(home, "diff", url, "--json", "--raw"))[0]
    assert raw["mode"] == "raw" and raw["similarity"] is None


def test_schedule_run_summaries_are_words_not_reprs() -> None:
    from collector.cli.schedule import summary_text

    assert summary_text({"urls": 2, "captured": 1, "failed": 1}) == "urls=2, captured=1, failed=1"
    assert summary_text(None) == "" and summary_text("ok") == "ok"


def test_a_dead_domain_is_one_line_not_a_traceback(home: Path) -> None:
    """Dead domains are this tool's main case: the outcome line only (the robots.txt middleware's
    traceback goes to the debug log)."""
    proc = run(home, "capture", "http://dead-domain-for-collector-tests.invalid/a")
    no_traceback(proc)
    assert proc.returncode == 1
    out = proc.stdout.decode() + proc.stderr.decode()
    assert "dns-failure" in out and len(out.strip().splitlines()) <= 3, out


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`collector --help` stays fast: the CLI imports its capabilities only inside the commands."""
    code = ("import sys, collector.cli.main; heavy = ('sqlalchemy', 'scrapy', 'twisted', 'trafilatura', "
            "'rich', 'starlette', 'warcio', 'lxml', 'collector.reports', 'collector.capture', "
            "'storage.records'); print(sorted(m for m in sys.modules if m.startswith(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
