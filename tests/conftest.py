"""Shared fixtures: a local HTTP server of test pages, a temporary archive home, database URLs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from collector.config import Config, load_config
from storage.database import connect
from storage.models import Capture
from tests.pywb_tool import Pywb, pywb_bin

HERE = Path(__file__).parent

# The tests' own HTTP requests (urllib) go straight to the servers they start, whatever the environment:
# urllib builds its global opener from http_proxy on first use, and a test that sets http_proxy for
# collector's crawls (monkeypatch, the check web) would otherwise reroute every later request of the
# same worker process through that proxy.
urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))
LOCAL_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _find_pg_url() -> tuple[str, str]:
    """(URL, how it was found) of the PostgreSQL server the tests use, or ("", why none is used).

    ``COLLECTOR_TEST_DATABASE_URL`` wins (``none`` turns PostgreSQL off); without it, a server that
    answers on 127.0.0.1:5432 is used, so `make test` runs the PostgreSQL half whenever it can.
    """
    configured = os.environ.get("COLLECTOR_TEST_DATABASE_URL")
    if configured is not None:
        if configured.strip().lower() in ("", "none"):
            return "", "PostgreSQL tests off (COLLECTOR_TEST_DATABASE_URL=none)"
        return configured, f"PostgreSQL tests on {configured} (COLLECTOR_TEST_DATABASE_URL)"
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3).close()
    except Exception as exc:  # any failure means: no usable local server
        return "", (f"PostgreSQL tests skipped: no server answers on 127.0.0.1:5432 ({type(exc).__name__}); "
                    "set COLLECTOR_TEST_DATABASE_URL to use one")
    return LOCAL_PG_URL, f"PostgreSQL tests on {LOCAL_PG_URL} (found running)"


PG_URL, PG_STATUS = _find_pg_url()


def pytest_report_header() -> str:
    """One line saying whether the PostgreSQL half of the suite runs, and where."""
    return PG_STATUS


def serve_script(script: Path) -> tuple[subprocess.Popen[str], str]:
    """Start one of the tests' local servers (a script that prints ``PORT <n>`` once it listens);
    returns the process and its base URL ``http://127.0.0.1:<n>``."""
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.stdout.close()
    assert line.startswith("PORT "), f"{script.name} did not start: {line!r}"
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


@contextlib.contextmanager
def served(script: Path) -> Iterator[str]:
    """``serve_script(script)`` for a ``with`` block: its base URL; the server is stopped after."""
    proc, base = serve_script(script)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def social() -> Iterator[str]:
    """Base URL of the local "social web" of the browser tests (tests/collector/capture/socialweb.py:
    JavaScript posts, a timeline, a login wall ...), run as a subprocess."""
    with served(HERE / "collector" / "capture" / "socialweb.py") as base:
        yield base


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the test page server, run as a subprocess."""
    with served(HERE / "server.py") as base:
        yield base


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this session, when COLLECTOR_TEST_DATABASE_URL is set."""
    if not PG_URL:
        yield None
        return
    import sqlalchemy as sa

    name = f"collector_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    sa.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def drop_database(url: str) -> None:
    """Delete everything the database at ``url`` holds: the SQLite file, or PostgreSQL's schema."""
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink()
    else:
        _reset_pg(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> str:
    """The database URL for a storage test: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'collector.db'}"
    if pg_database is None:
        pytest.skip(PG_STATUS)
    _reset_pg(pg_database)
    return pg_database


@pytest.fixture
def pywb(tmp_path: Path) -> Pywb:
    """An empty pywb directory under tmp_path, worked on by the pywb of tests/pywb_tool.py."""
    return Pywb(tmp_path / "pywb", pywb_bin())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty archive home."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def make_config(home: Path, **flags: Any) -> Config:
    """A Config for tests: isolated from the environment, private targets allowed, fast politeness."""
    defaults: dict[str, Any] = {
        "home": home, "allow_private": True, "autothrottle_start_delay": 0.0, "retry_times": 0,
        "extract_workers": 2, "download_timeout": 10.0, "retry_backoff": 0.1,
    }
    defaults.update(flags)
    return load_config(defaults, env={})


def capture_rows(db_url: str) -> list[Capture]:
    """Every capture row of the database at ``db_url``, in id order (detached)."""
    sessions = connect(db_url)
    try:
        with sessions() as session:
            rows = list(session.scalars(select(Capture).order_by(Capture.id)))
            session.expunge_all()
            return rows
    finally:
        sessions.kw["bind"].dispose()


def warcio_check(home: Path) -> None:
    """Assert that every WARC file under ``home`` passes ``warcio check``."""
    files = sorted(str(p) for p in (home / "warcs").glob("*.warc.gz"))
    assert files, "no WARC files were written"
    tool = Path(sys.executable).parent / "warcio"
    result = subprocess.run([str(tool), "check", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a real S3-compatible server (moto's, in a thread of this process) for the WARC store
    tests; its fake credentials are in the environment, for this process and the CLI it starts."""
    from moto.server import ThreadedMotoServer  # the test extra's; imported only by the store tests

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh bucket on the ``s3_endpoint`` server: ``s3://<bucket>/warcs`` is a store of its own."""
    import s3fs  # type: ignore[import-untyped]

    name = f"collector-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True).mkdir(name)
    return name
