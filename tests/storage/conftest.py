"""Fixtures of the storage contract suite: archives on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.archive import Archive
from tests.storage.helpers import FixedClock, SequentialIds

OpenArchive = Callable[..., Archive]


@pytest.fixture
def warc_dir(tmp_path: Path) -> Path:
    """The WARC directory of the test archive (``home/warcs`` as collector lays it out)."""
    return tmp_path / "home" / "warcs"


@pytest.fixture
def open_archive(db_url: str, warc_dir: Path) -> Iterator[OpenArchive]:
    """Open Archives on ``db_url`` + ``warc_dir`` (deterministic clock and ids); closed at teardown."""
    opened: list[Archive] = []

    def factory(**kwargs: Any) -> Archive:
        kwargs.setdefault("clock", FixedClock())
        kwargs.setdefault("record_id", SequentialIds(namespace=len(opened)))
        archive = Archive.open(db_url, warc_dir, **kwargs)
        opened.append(archive)
        return archive

    yield factory
    for archive in opened:
        archive.close()


@pytest.fixture
def archive(open_archive: OpenArchive) -> Archive:
    """One open archive."""
    return open_archive()
