"""``collector feed`` as users run it: a real process, JSON lines, exit codes."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.collector.monitor.conftest import control
from tests.collector.test_cli import lines, no_traceback, run

ENTRY_FIELDS = {"feed", "title", "link", "published", "matched", "captured", "outcome"}


def test_feed_commands(feed_server: str, home: Path, tmp_path: Path) -> None:
    name = "cli" + uuid.uuid4().hex[:6]
    control(feed_server, name, add=[{"title": "Jane Doe elected"}, {"title": "Rain expected"}])
    words = tmp_path / "words.txt"
    words.write_text("# people\nJane Doe\n")
    added = run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name,
                "--keywords-file", str(words), "--every", "30m", "--no-text-match", "--json")
    no_traceback(added)
    assert added.returncode == 0, added.stderr.decode()
    assert lines(added)[0]["keywords"] == ["Jane Doe"] and lines(added)[0]["every"] == 1800

    polled = run(home, "feed", "poll", name, "--allow-private", "--json")
    no_traceback(polled)
    assert polled.returncode == 0, polled.stderr.decode()
    out = lines(polled)
    assert all(o.keys() >= ENTRY_FIELDS for o in out)
    assert {o["title"]: (o["matched"], o["captured"], o["outcome"]) for o in out} == {
        "Jane Doe elected": (["Jane Doe"], True, "captured"), "Rain expected": ([], False, "recorded")}

    again = run(home, "feed", "poll", "--allow-private", "--json")
    assert again.returncode == 0 and lines(again) == []

    listed = lines(run(home, "feed", "list", "--json"))
    assert [(f["name"], f["status"], f["entries"], f["matched_entries"], f["last_status"])
            for f in listed] == [(name, "ok", 2, 1, 304)]
    entries = lines(run(home, "feed", "entries", name, "--matched", "--json"))
    assert [e["title"] for e in entries] == ["Jane Doe elected"] and entries[0]["capture_id"]

    found = run(home, "feed", "discover", feed_server + "/page.html", "--allow-private", "--json")
    assert [f["type"] for f in lines(found)] == ["application/rss+xml", "application/atom+xml"]

    assert run(home, "feed", "remove", name).returncode == 0
    assert run(home, "feed", "remove", name).returncode == 1
    assert lines(run(home, "feed", "list", "--json")) == []


def test_feed_errors(feed_server: str, home: Path) -> None:
    name = "bad" + uuid.uuid4().hex[:6]
    control(feed_server, name, mode="status:503")
    assert run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name).returncode == 0
    dup = run(home, "feed", "add", f"{feed_server}/feed/{name}.xml", "--name", name)
    assert dup.returncode == 2 and name.encode() in dup.stderr
    failed = run(home, "feed", "poll", "--allow-private", "--json")
    no_traceback(failed)
    assert failed.returncode == 1 and b"HTTP 503" in failed.stderr
    unknown = run(home, "feed", "poll", "nope")
    assert unknown.returncode == 2 and b"nope" in unknown.stderr
    both = run(home, "feed", "add", "http://x.example/rss", "--keywords", "a", "--keywords-file", "f")
    assert both.returncode == 2
    bad_every = run(home, "feed", "add", "http://x.example/rss", "--every", "soon")
    assert bad_every.returncode == 2 and b"soon" in bad_every.stderr
    assert run(home, "feed", "add", "file:///etc/passwd").returncode == 2
