"""Commands started together on a new home: one creates the schema, the others wait and use it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.database import head_revision
from tests.conftest import PG_STATUS, PG_URL

pytestmark = pytest.mark.slow  # six processes racing

HERE = Path(__file__).parent
PROCESSES = 6
ROUNDS = 3  # the race is lost some of the time: several new databases make it near certain

# every process loads what migrating needs and says it is ready; then, for each database URL it
# is sent (all of them are sent it at once), it connects and says how that went
_CHILD = """
import json, sys, traceback
import alembic.command, alembic.runtime.migration, alembic.script
from storage.database import connect
print("ready", flush=True)
for line in sys.stdin:
    try:
        connect(line.strip()).kw["bind"].dispose()
        print(json.dumps("ok"), flush=True)
    except Exception:
        print(json.dumps(traceback.format_exc()), flush=True)
"""


def _new_databases(kind: str, tmp_path: Path) -> Iterator[str]:
    """New, empty databases of ``kind`` (each PostgreSQL one dropped when the next is made)."""
    for n in range(ROUNDS):
        if kind == "sqlite":
            yield f"sqlite:///{tmp_path / f'round{n}' / 'collector.db'}"
            continue
        name = f"collector_race_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            yield PG_URL.rsplit("/", 1)[0] + "/" + name
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@pytest.fixture(scope="module")
def racers() -> Iterator[list[subprocess.Popen[str]]]:
    """PROCESSES processes ready to connect to a database URL the moment they are sent one."""
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=HERE.parent.parent)
             for _ in range(PROCESSES)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield procs
    finally:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in procs:
            proc.wait(timeout=60)
            assert proc.stdout is not None
            proc.stdout.close()


def _race(procs: list[subprocess.Popen[str]], url: str) -> list[str]:
    """Have every process connect to ``url`` at the same moment; what each said."""
    for proc in procs:  # every one is waiting on its stdin: they go together
        assert proc.stdin is not None
        proc.stdin.write(url + "\n")
        proc.stdin.flush()
    answers = []
    for proc in procs:
        assert proc.stdout is not None
        answers.append(json.loads(proc.stdout.readline()))
    return answers


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_connecting_together_to_a_new_database_all_succeed(
        kind: str, tmp_path: Path, racers: list[subprocess.Popen[str]]) -> None:
    if kind == "postgresql" and not PG_URL:
        pytest.skip(PG_STATUS)
    for url in _new_databases(kind, tmp_path):
        assert _race(racers, url) == ["ok"] * PROCESSES
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
            assert [v for (v,) in versions] == [head_revision()]
            assert sa.inspect(engine).has_table("captures")
        finally:
            engine.dispose()
