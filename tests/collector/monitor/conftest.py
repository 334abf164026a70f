"""Fixtures of the monitoring tests: a local feed server whose feeds grow and break, a webhook receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.config import Config
from storage.database import connect
from storage.feeds import FeedRecord, get_feed
from tests.conftest import serve_script

HERE = Path(__file__).parent


def _serve(script: str) -> tuple[subprocess.Popen[str], str]:
    return serve_script(HERE / script)


@pytest.fixture(scope="session")
def feed_server() -> Iterator[str]:
    """Base URL of the feed server (``tests/collector/monitor/feedserver.py``), run as a subprocess."""
    proc, base = _serve("feedserver.py")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def hook_server() -> Iterator[str]:
    """Base URL of the webhook receiver (``tests/collector/monitor/hookserver.py``)."""
    proc, base = _serve("hookserver.py")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def post_json(url: str, data: dict[str, Any]) -> Any:
    """POST a JSON body; return the decoded JSON (or text) answer."""
    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


def get_json(url: str) -> Any:
    """GET and decode a JSON answer."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def control(base: str, feed: str, **data: Any) -> None:
    """Change a feed of the feed server: add entries, grow it, set its mode, reset it."""
    post_json(base + "/_control", {"feed": feed, **data})


def stats(base: str, feed: str) -> dict[str, int]:
    """The feed server's request counters of one feed."""
    return dict(get_json(f"{base}/_stats?feed={feed}"))


def stored_feed(config: Config, name: str) -> FeedRecord:
    """The feed ``name`` as stored in ``config``'s database (it must exist)."""
    sessions = connect(config.db_url)
    try:
        found = get_feed(sessions, name)
    finally:
        sessions.kw["bind"].dispose()
    assert found is not None
    return found


def collector_env(home: Path) -> dict[str, str]:
    """The environment of a collector subprocess on ``home`` (fast politeness, one extractor)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    env.update({"COLLECTOR_HOME": str(home), "COLLECTOR_AUTOTHROTTLE_START_DELAY": "0",
                "COLLECTOR_RETRY_TIMES": "0", "COLLECTOR_EXTRACT_WORKERS": "1"})
    return env


class DaemonProcess:
    """``collector run`` as a real subprocess, its JSON log lines in a file."""

    def __init__(self, home: Path, db_url: str | None, *args: str, log: Path) -> None:
        self.log = log
        cmd = [sys.executable, "-m", "collector"]
        if db_url:
            cmd += ["--db", db_url]
        cmd += ["run", "--allow-private", "--tick", "0.2", "--lease-ttl", "3", "--notify-interval", "0.5",
                *args]
        self._err = log.open("ab")
        self.proc = subprocess.Popen(cmd, env=collector_env(home), stdout=subprocess.DEVNULL,
                                     stderr=self._err)

    def events(self) -> list[dict[str, Any]]:
        """The log lines written so far (non-JSON lines are kept as ``{"raw": ...}``)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    def holder(self, timeout: float = 30) -> str:
        """This daemon's lease holder id (from its daemon.start line)."""
        found = wait_for(lambda: next((e["holder"] for e in self.events()
                                       if e.get("event") == "daemon.start"), None), timeout)
        return str(found)

    def stop(self, sig: int = 15, timeout: float = 60) -> int:
        """Send ``sig`` (SIGTERM by default) and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._err.close()

    def kill(self) -> None:
        """Make sure the process is gone (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._err.close()


def wait_for(predicate: Any, timeout: float = 30, every: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(every)
