"""Engines, sessions and automatic Alembic migrations.

Opening a database that is already at the newest revision costs one query: the newest revision is read
from the migration files, compared with the ``alembic_version`` row, and Alembic itself (half a second
of imports) is only loaded when they differ.

Creating and migrating the schema is serialized, so commands started together on a new home do not
race to create the same tables: an SQLite database is migrated under an exclusive ``flock`` on
``<database file>.lock`` beside it (the file stays; the kernel drops the lock when its holder ends,
however it ends), a PostgreSQL one under a transaction-level advisory lock
(``pg_advisory_xact_lock``) taken by the migrating connection. The process that waited then finds
the schema at the newest revision and has nothing to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError
from storage.packedtext import register_text_functions

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = ["connect", "head_revision", "migrate"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN_REVISION = re.compile(
    r"^down_revision\s*(?::[^=]*)?=\s*(?:None|[\"']([^\"']+)[\"'])\s*$", re.M)


# the PostgreSQL advisory lock of schema migrations (any constant; "collecto" in ASCII)
MIGRATION_LOCK_KEY = int.from_bytes(b"collecto", "big")

MMAP_BYTES = 256 * 2**20  # reads through the page cache: 15-30% faster lookups


def compact_json(value: Any) -> str:
    """How JSON columns are written: without spaces after separators (issue 18: the ``records`` and
    ``redirect_chain`` of every capture row; readers parse either form). Non-ASCII stays escaped: a
    lone surrogate from the network must still serialize."""
    return json.dumps(value, separators=(",", ":"))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, mmap_bytes: int = MMAP_BYTES) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
    cur.close()
    register_text_functions(dbapi_conn)


def make_engine(url: str, *, mmap: bool = True) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL mode and a busy timeout.

    ``mmap`` False reads an SQLite database with read() instead of mapping it: the writer of a long
    crawl reads pages all over a growing file (revisit lookups, the full-text index), and every
    mapped page it touches would count in its resident size (~50 MB more at 8,000 pages).
    """
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=compact_json)
            event.listen(engine, "connect", functools.partial(
                _sqlite_pragmas, mmap_bytes=MMAP_BYTES if mmap else 0))
            return engine
        return create_engine(url, pool_pre_ping=True, json_serializer=compact_json)
    except (ArgumentError, ImportError) as exc:
        raise StorageError(f"cannot use database URL {url!r}: {exc}") from exc


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # lazy: alembic costs ~0.1 s at start

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


@functools.cache
def head_revision(versions: Path = _MIGRATIONS / "versions") -> str | None:
    """The newest migration revision, read from the files in ``versions`` without loading Alembic.

    None when a file cannot be read this simply or the revisions have no single head: the caller
    then asks Alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.findall(source)
        down = _DOWN_REVISION.search(source)
        if len(revision) != 1 or down is None:
            return None
        revisions.add(revision[0])
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _at_revision(engine: Engine, revision: str) -> bool:
    """Whether the database's alembic_version is exactly ``revision`` (False when unknown)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table, or no database yet: Alembic decides, and reports errors
        return False
    return list(rows) == [revision]


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the exclusive lock on an SQLite database file's ``.lock`` file (nothing for another
    database, or an SQLite database in memory)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # drops the lock


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision (no-op when current)."""
    head = head_revision()
    if head is not None and _at_revision(engine, head):
        return
    # lazy: alembic costs ~0.1 s at start, and only a migration needs it
    from alembic import command  # lazy: see above
    from alembic.runtime.migration import MigrationContext  # lazy: see above
    from alembic.script import ScriptDirectory  # lazy: see above

    cfg = _alembic_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    try:
        with _sqlite_migration_lock(engine), engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # held until this transaction ends
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            # read under the lock: another process may have migrated while this one waited
            current = MigrationContext.configure(conn).get_current_revision()
            if current == head:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise StorageError(f"cannot open database {engine.url!r}: {exc.orig}") from exc


def connect(url: str, *, mmap: bool = True) -> sessionmaker[Session]:
    """Open the database at ``url``, migrate it, and return a session factory (``mmap``: see
    ``make_engine``)."""
    engine = make_engine(url, mmap=mmap)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
