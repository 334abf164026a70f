"""``collector feed pause`` / ``resume``: the feed's ``paused`` field in ``feed list --json``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.cli.test_cli import lines, no_traceback, run


@pytest.mark.slow  # six CLI processes
def test_pause_and_resume_a_feed(home: Path) -> None:
    added = run(home, "feed", "add", "https://feeds.example.org/rss.xml", "--name", "harbour")
    assert added.returncode == 0, added.stderr.decode()
    paused = run(home, "feed", "pause", "harbour")
    no_traceback(paused)
    assert paused.returncode == 0 and paused.stdout.decode().strip() == "paused feed harbour"
    [feed] = lines(run(home, "feed", "list", "--json"))
    assert feed["paused"] is True and feed["next_poll_at"] is None
    assert run(home, "feed", "resume", "harbour").returncode == 0
    [feed] = lines(run(home, "feed", "list", "--json"))
    assert feed["paused"] is False and feed["next_poll_at"] is not None
    unknown = run(home, "feed", "pause", "nope")
    no_traceback(unknown)
    assert unknown.returncode != 0 and "no feed named 'nope'" in unknown.stderr.decode()
