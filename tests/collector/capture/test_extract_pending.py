"""``collector capture --no-extract`` archives without starting an extraction process and leaves each
page's extraction ``pending``; ``collector extract --pending`` extracts them later, after which
``get --text``, search and report quotes answer as after a normal capture (both databases)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from collector.capture.crawlproc import forget_inherited_server
from collector.capture.extract_pool import EXTRACT_PRELOAD, LIGHT_PRELOAD
from collector.capture.run import capture_urls
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.conftest import make_config

QUOTE = "it says something specific about winterharbour"
# the extraction pool's fork server preloads one of these (warmed for a long run, light for a few pages);
# its command line shows the list
POOL_PRELOADS = (repr(EXTRACT_PRELOAD), repr(LIGHT_PRELOAD))


def _is_pool(cmd: str) -> bool:
    return any(preload in cmd for preload in POOL_PRELOADS)


def _descendants() -> list[str]:
    """The command lines of every process below this one, now (from /proc)."""
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
    found, todo = [], list(kids.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            found.append((Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def _capture_watching(config: Any, urls: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Capture ``urls`` in-process; with each result (the crawl and its writer still running), the
    command lines of the processes below this one.

    A fork server this process runs (an earlier test's extraction pool started one) is let go first:
    a crawl child forked from it, and the writer forked from that child, would show its command line,
    which names the extraction preload."""
    forget_inherited_server()
    seen: list[str] = []
    results = capture_urls(config, urls, on_result=lambda _r: seen.extend(_descendants()))
    return results, seen


def test_no_extract_then_extract_pending(server: str, home: Path, tmp_path: Path, db_url: str) -> None:
    page, other, normal = (f"{server}/page/winterharbour", f"{server}/page/no-extract-cli",
                           f"{server}/page/extracted-now")
    db = ("--db", db_url)
    config = make_config(home, database_url=db_url)

    results, seen = _capture_watching(config.replace(extract=False), [page])
    assert [(r["outcome"], r["extraction"], r["text_sha256"]) for r in results] == [
        ("captured", "pending", None)]
    assert seen and not any(_is_pool(cmd) for cmd in seen), seen  # the crawl ran, no pool beside it
    # control: a normal capture has its extraction pool's processes running when its result comes,
    # and leaves the pending page to `extract --pending` (a one-URL capture never waits for a batch)
    done, seen = _capture_watching(config, [normal])
    assert done[0]["extraction"] == "ok" and any(_is_pool(cmd) for cmd in seen)
    assert [s["extraction"] for s in lines(run(home, *db, "snapshots", page, "--json"))] == ["pending"]
    cli = run(home, *db, "capture", "--no-extract", "--allow-private", "--json", other)
    no_traceback(cli)
    assert cli.returncode == 0, cli.stderr.decode()
    assert [r["extraction"] for r in lines(cli)] == ["pending"]

    doc = tmp_path / "r.md"
    doc.write_text(f'The article says "{QUOTE}"[^a].\n\n[^a]: Site, Article, {page}\n')
    assert run(home, *db, "report", "add", str(doc), "--name", "r").returncode == 0
    before = run(home, *db, "get", page, "--text")
    no_traceback(before)
    assert before.returncode == 1
    assert "not extracted yet: run collector extract --pending" in before.stderr.decode()
    assert run(home, *db, "search", "winterharbour", "--json").returncode == 1
    status = {row["ref"]: row for row in lines(run(home, *db, "report", "status", "r", "--json"))}
    assert [q["archived"] for q in status["^a"]["quotes"]] != [True]

    extracted = run(home, *db, "extract", "--pending", "--json")
    no_traceback(extracted)
    assert extracted.returncode == 0, extracted.stderr.decode()
    assert lines(extracted) == [{"extracted": 2, "statuses": {"ok": 2}, "left_to_running_runs": 0,
                                 "ok": True}]

    text = run(home, *db, "get", page, "--text", "--json")
    assert text.returncode == 0, text.stderr.decode()
    [got] = lines(text)
    assert QUOTE in got["text"] and got["title"] == "Article winterharbour" and got["text_sha256"]
    [snap] = lines(run(home, *db, "snapshots", page, "--json"))
    assert snap["extraction"] == "ok" and snap["text_sha256"] == got["text_sha256"]
    found = lines(run(home, *db, "search", "winterharbour", "--json"))
    assert [hit["url"] for hit in found] == [page]
    status = {row["ref"]: row for row in lines(run(home, *db, "report", "status", "r", "--json"))}
    assert [q["archived"] for q in status["^a"]["quotes"]] == [True]
    verified = run(home, *db, "verify", "--json")
    assert verified.returncode == 0 and lines(verified)[0]["problems"] == []

    again = run(home, *db, "extract", "--pending", "--json")  # nothing is left, nothing is redone
    assert lines(again)[0]["extracted"] == 0
    assert run(home, *db, "extract").returncode == 2  # what to extract must be said
