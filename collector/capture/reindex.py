"""``collector reindex`` and ``collector import``: the database rebuilt from, or grown by, WARC files.

Both index WARC files with ``storage.reindex.index_files`` and extract the texts the files lack in
the extraction pool captures use (started only when a text is missing).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from collector.capture.extract_pool import ExtractionPool
from collector.config import Config
from collector.errors import CollectorError
from storage.archive import Archive
from storage.errors import ArchiveCorruptError
from storage.importing import store_inputs
from storage.reindex import IndexSummary, capture_count, index_files, warc_files

__all__ = ["PoolExtractor", "import_archives", "reindex_home"]


class PoolExtractor:
    """Extraction in the pool captures use, with their limits (worker processes, each page cut off
    after ``extract_timeout``: a hostile page cannot hang a reindex, an import or ``extract
    --pending``); started on first use."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pool: ExtractionPool | None = None

    def __call__(self, warc_dir: Path, jobs: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
        """The extraction results of ``jobs`` ((file, offset, URL) of response records), in order."""
        if self.pool is None:
            self.pool = ExtractionPool(warc_dir, workers=self.config.workers,
                                       timeout=self.config.extract_timeout,
                                       max_bytes=self.config.max_body_bytes,
                                       html_max_bytes=self.config.extract_max_bytes,
                                       html_max_tags=self.config.extract_max_tags,
                                       max_memory=self.config.extract_max_memory_mb * 2**20)
        results: list[dict[str, Any]] = [{"status": "error"}] * len(jobs)
        finished = threading.Semaphore(0)

        def done(index: int, result: dict[str, Any]) -> None:
            results[index] = result
            finished.release()

        for index, (name, offset, url) in enumerate(jobs):
            self.pool.submit(name, offset, url, functools.partial(done, index))
        for _ in jobs:
            finished.acquire()
        return results

    def close(self) -> None:
        """Stop the pool's workers, if it was started."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def _sqlite_file(db_url: str) -> Path | None:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def reindex_home(config: Config, *, force: bool = False,
                 progress: Callable[[int], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, Any]:
    """Rebuild the capture rows of ``config``'s home from every WARC file in it; the summary.

    The database must have no captures. With ``force`` on SQLite, the index is built in a new
    database file that then takes the old one's place; the old one is kept beside it as
    ``<name>.before-reindex-<UTC time>`` (with everything the WARC files do not hold: reports,
    checks, schedules, feeds). ``force`` on another database is refused: point ``--db`` at an empty one.
    """
    names = warc_files(config.warc_dir)
    archive = Archive.from_settings(config)
    try:
        existing = capture_count(archive)
        if not existing:
            extract = PoolExtractor(config)
            try:
                summary = index_files(archive, names, extract=extract, progress=progress)
            finally:
                extract.close()
            return {**summary.to_json(), "database": _safe_url(config.db_url), "kept": None}
    finally:
        archive.close()
    if not force:
        raise CollectorError(f"the database {_safe_url(config.db_url)} already has {existing} "
                             "captures: reindex rebuilds an empty one (use --force to rebuild it "
                             "anew; the old one is kept)")
    current = _sqlite_file(config.db_url)
    if current is None:
        raise CollectorError(f"--force rebuilds SQLite databases only; {_safe_url(config.db_url)} "
                             "is not one: create an empty database and give it with --db")
    fresh = current.with_name(current.name + ".reindex")
    for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
        leftover.unlink(missing_ok=True)
    archive = Archive.from_settings(config.replace(database_url=f"sqlite:///{fresh.resolve()}"))
    extract = PoolExtractor(config)
    try:
        summary = index_files(archive, names, extract=extract, progress=progress)
    finally:
        extract.close()
        archive.close()
    kept = current.with_name(f"{current.name}.before-reindex-{clock().strftime('%Y%m%dT%H%M%SZ')}")
    for suffix in ("-wal", "-shm"):
        old = Path(f"{current}{suffix}")
        if old.exists():
            os.replace(old, f"{kept}{suffix}")
    os.replace(current, kept)
    os.replace(fresh, current)
    Path(f"{fresh}.lock").unlink(missing_ok=True)  # the migration lock of the new file's old name
    return {**summary.to_json(), "database": _safe_url(config.db_url), "kept": str(kept)}


def import_archives(config: Config, paths: Sequence[Path], *,
                    progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Copy WARC, WARC.gz and WACZ files into the home's WARC store and index their captures.

    A file that cannot be read is named in ``errors`` and the others go on. Importing a file again
    adds nothing (its records are indexed by WARC-Record-ID).
    """
    errors: list[dict[str, str]] = []
    stored: list[str] = []
    for path in paths:
        try:
            stored += store_inputs(Path(path), config.warc_dir)
        except ArchiveCorruptError as exc:
            errors.append({"file": str(path), "error": str(exc)})
    archive = Archive.from_settings(config)
    extract = PoolExtractor(config)
    try:
        summary = (index_files(archive, stored, extract=extract, progress=progress)
                   if stored else IndexSummary())
    finally:
        extract.close()
        archive.close()
    summary.errors = errors + summary.errors
    return {**summary.to_json(), "stored": stored}


def _safe_url(db_url: str) -> str:
    return make_url(db_url).render_as_string(hide_password=True)
