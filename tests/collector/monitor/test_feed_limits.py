"""What one feed document may cost: a 150,000-entry feed, a feed of endlessly unclosed tags, a parse over
the memory limit. Whatever the document, the poll is on record and the processes stay bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from collector.monitor.feeds import add_feed, poll_feeds
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.monitor.conftest import collector_env, control
from tests.conftest import make_config

pytestmark = pytest.mark.slow

# runs a command and prints the peak resident size (KB) of the largest of its processes
PEAK = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def test_150000_entry_feed_gets_a_poll_row_within_bounded_memory(feed_server: str, home: Path) -> None:
    name = "huge" + uuid.uuid4().hex[:6]
    assert run(home, "feed", "add", f"{feed_server}/huge/150000.xml", "--name", name).returncode == 0
    env = collector_env(home) | {"COLLECTOR_MONITOR_FEED_PARSE_TIMEOUT": "900"}  # a busy machine's CPU
    polled = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "collector", "feed", "poll",
                             "--allow-private", "--json"], env=env, capture_output=True, timeout=1200)
    no_traceback(polled)
    assert polled.returncode == 0, polled.stderr.decode()[-2000:]
    peak_mb = int(polled.stderr.decode().strip().splitlines()[-1]) / 1024
    print(f"feed poll of a 45 MB, 150,000-entry feed: peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 700
    assert len(polled.stdout.splitlines()) == 5000  # the first 5,000 entries (newest first) are kept
    feed = lines(run(home, "feed", "list", "--json"))[0]
    assert (feed["last_outcome"], feed["entries"], feed["status"]) == ("fetched", 5000, "warning")
    assert feed["warning"].startswith("too-large: the document is") and "too-many-entries" in feed["warning"]
    newest = json.loads(polled.stdout.splitlines()[-1])
    assert newest["title"] == "Huge story 150000"


def test_feed_of_unclosed_tags_is_read_and_on_record(feed_server: str, home: Path) -> None:
    config = make_config(home)
    name = "tangle" + uuid.uuid4().hex[:6]
    add_feed(config, f"{feed_server}/tangle/300.xml", name=name)
    polled = poll_feeds(config, [name]).feeds[0]
    assert (polled.outcome, polled.error) == ("fetched", None)
    assert 200 < polled.new_entries < 300 and (polled.warning or "").startswith("too-large")


def test_parse_over_the_memory_limit_is_a_parse_error_and_the_other_feeds_go_on(feed_server: str,
                                                                               home: Path) -> None:
    config = make_config(home, monitor={"feed_parse_memory": 110})
    big, small = "big" + uuid.uuid4().hex[:6], "small" + uuid.uuid4().hex[:6]
    control(feed_server, small, grow=2)
    add_feed(config, f"{feed_server}/huge/40000.xml", name=big, every=100)
    add_feed(config, f"{feed_server}/feed/{small}.xml", name=small)
    report = poll_feeds(config, [big, small])
    by_name = {f.feed: f for f in report.feeds}
    assert by_name[small].outcome == "fetched" and by_name[small].new_entries == 2
    assert by_name[big].outcome == "failed" and (by_name[big].error or "").startswith("parse-error")
    assert by_name[big].interval == 200  # a feed that cannot be read is failing: back-off
