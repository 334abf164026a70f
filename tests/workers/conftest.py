"""A cluster on one machine for the worker tests: a web of many hosts, Redis with a key prefix of the
test's own, PostgreSQL, and worker processes each with a home of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from collector.config import Config
from tests.collector.monitor.conftest import feed_server  # noqa: F401  # the feed tests' server, here too
from tests.conftest import _reset_pg, make_config

HERE = Path(__file__).parent
REDIS_URL = os.environ.get("COLLECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> Any:
    """A client of the test Redis; the test is skipped when none answers."""
    from redis import Redis
    from redis.exceptions import RedisError

    server = Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc})")
    return server


@dataclass
class Web:
    """The local web: hosts 127.0.0.1 ... 127.0.0.N on one port."""

    port: int
    hosts: int

    def urls(self, count: int) -> list[str]:
        """``count`` page URLs spread over the hosts in turn."""
        return [f"http://127.0.0.{i % self.hosts + 1}:{self.port}/page/p{i}" for i in range(count)]

    def stats(self) -> dict[str, dict[str, int]]:
        """Per host: requests, robots fetches, most connections in flight at once."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stats", timeout=10) as answer:
            return dict(json.load(answer))


def start_web(hosts: int, latency: float = 0.0) -> tuple[subprocess.Popen[str], Web]:
    """Start tests/workers/clusterweb.py."""
    proc = subprocess.Popen([sys.executable, str(HERE / "clusterweb.py"), "--hosts", str(hosts),
                             "--latency", str(latency)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.stdout.close()
    assert line.startswith("PORT "), line
    return proc, Web(int(line.split()[1]), hosts)


@dataclass
class Cluster:
    """Worker processes sharing a database and a Redis prefix, each with its own home."""

    root: Path
    database_url: str
    prefix: str
    settings: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self, name: str) -> dict[str, str]:
        """The environment of worker ``name``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        env.update({"COLLECTOR_HOME": str(self.home(name)), "COLLECTOR_DATABASE_URL": self.database_url,
                    "COLLECTOR_REDIS_URL": REDIS_URL, "COLLECTOR_REDIS_PREFIX": self.prefix,
                    "COLLECTOR_ALLOW_PRIVATE": "1", "COLLECTOR_EXTRACT": "0",
                    "COLLECTOR_AUTOTHROTTLE": "0", "COLLECTOR_RETRY_TIMES": "0",
                    "COLLECTOR_DOWNLOAD_TIMEOUT": "10", "COLLECTOR_JOB_LEASE": "12",
                    "COLLECTOR_REAP_INTERVAL": "1", **self.settings})
        return env

    def home(self, name: str) -> Path:
        """Worker ``name``'s home."""
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def config(self, **flags: Any) -> Config:
        """A Config on the cluster's database and queue (for enqueueing from the test)."""
        return make_config(self.root / "enqueuer", database_url=self.database_url,
                           redis_url=REDIS_URL, redis_prefix=self.prefix, **flags)

    def start(self, name: str, concurrency: int = 8) -> subprocess.Popen[bytes]:
        """Start worker ``name`` (`collector worker --name NAME --json`)."""
        self.home(name)
        out = (self.root / f"{name}.out").open("ab")
        err = (self.root / f"{name}.err").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "collector", "worker", "--name", name,
                                 "--concurrency", str(concurrency), "--json"],
                                stdout=out, stderr=err, env=self.env(name))
        out.close()
        err.close()
        self.procs[name] = proc
        return proc

    def wait_taking_work(self, name: str, timeout: float = 90) -> None:
        """Until worker ``name``'s spider is connected to Redis (its client is named for it)."""
        server = redis_or_skip()
        try:
            wait_until(lambda: any(c.get("name") == name for c in server.client_list()), timeout,
                       f"worker {name} to take work")
        finally:
            server.close()

    def stop_all(self, timeout: float = 60) -> dict[str, int | None]:
        """SIGTERM every worker still running; their exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def log(self, name: str) -> str:
        """Worker ``name``'s stderr so far."""
        path = self.root / f"{name}.err"
        return path.read_text(errors="replace") if path.exists() else ""


def wait_until(predicate: Any, timeout: float, what: str, poll: float = 0.25) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(poll)


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, Any]]:
    """A Redis key prefix of the test's own and a client of the test Redis; the prefix's keys are
    deleted after the test."""
    server = redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix, server
    keys = list(server.scan_iter(f"{prefix}:*"))
    if keys:
        server.delete(*keys)
    server.close()


@pytest.fixture
def cluster(tmp_path: Path, pg_database: str | None) -> Iterator[Cluster]:
    """Workers on the test PostgreSQL database (reset) and a Redis prefix of this test's own."""
    if pg_database is None:
        pytest.skip("the worker tests need PostgreSQL (COLLECTOR_TEST_DATABASE_URL)")
    server = redis_or_skip()
    _reset_pg(pg_database)
    made = Cluster(tmp_path / "cluster", pg_database, f"test-{uuid.uuid4().hex[:12]}")
    try:
        yield made
    finally:
        made.stop_all(timeout=30)
        keys = list(server.scan_iter(f"{made.prefix}:*"))
        if keys:
            server.delete(*keys)
        server.close()
