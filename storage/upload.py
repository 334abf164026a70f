"""Uploading the files of an object store's staging directory (``storage.store``, issue 16).

A file is uploaded whole, under the writer's lock (no writer appends meanwhile), then read back: the
upload stands only when the object's sha256 is the local file's. An object is never replaced by a
shorter file. The local file is kept (readers of this home read it without a request).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.errors import StoreError
from storage.store import WARC_SUFFIX, ObjectStore, WarcStore, attached
from storage.warcfile import lock_file

__all__ = ["UploadReport", "upload_leftovers", "upload_one", "upload_pending", "uploader"]

log = logging.getLogger(__name__)


@dataclass
class UploadReport:
    """What ``upload_pending`` did: files uploaded (name, bytes, sha256), already there, being written."""

    uploaded: list[dict[str, Any]] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {"uploaded": self.uploaded, "current": self.current, "busy": self.busy,
                "failed": self.failed,
                "bytes": sum(int(item["bytes"]) for item in self.uploaded)}


def upload_one(store: ObjectStore, warc_dir: Path, name: str) -> dict[str, Any] | None:
    """Upload ``name`` of the staging directory ``warc_dir`` (the writer's ``on_close``), holding its
    lock so that no writer appends meanwhile: None when a writer holds it (that writer uploads it
    when it closes it). StoreError when the store holds a longer copy (never overwritten)."""
    path = Path(warc_dir) / name
    with open(path, "rb") as fh:
        if not lock_file(fh, path):
            return None
        size = os.fstat(fh.fileno()).st_size
        stored = store.size(name)
        if stored is not None and stored > size:
            raise StoreError(f"the WARC store {store.uri} holds {stored} bytes of {name}, the local "
                             f"file {size}: not overwritten")
        return {"name": name, "bytes": size, "sha256": store.upload(path, name)}


def upload_pending(warc_dir: Path, store: WarcStore, *, names: Callable[[str], bool] | None = None,
                   progress: Callable[[int], None] | None = None) -> UploadReport:
    """Upload every file of the staging directory ``warc_dir`` that the object ``store`` lacks or holds
    a shorter copy of, except files a writer holds (``busy``). ``names``: only the names it accepts.
    A failed upload is reported (``failed``) and the others go on."""
    report = UploadReport()
    if not isinstance(store, ObjectStore):
        return report
    try:
        stored = store.sizes()
    except OSError as exc:
        raise StoreError(f"cannot list the WARC store {store.uri}: {exc}") from exc
    for path in sorted(Path(warc_dir).glob("*" + WARC_SUFFIX)):
        if names is not None and not names(path.name):
            continue
        try:
            local = path.stat().st_size
            if stored.get(path.name) == local:
                report.current.append(path.name)
                continue
            done = upload_one(store, warc_dir, path.name)
            if done is None:
                report.busy.append(path.name)
            else:
                report.uploaded.append(done)
        except (OSError, StoreError) as exc:
            report.failed.append({"name": path.name, "reason": str(exc)})
        if progress:
            progress(1)
    return report



def uploader(warc_dir: Path) -> Callable[[str], None] | None:
    """What a writer of ``warc_dir`` calls with each file it closes: upload it to the object store
    attached to ``warc_dir`` (None when there is none). A failed upload is logged, not raised: the
    file stays durable in the staging directory, and ``upload_pending`` uploads it later."""
    store = attached(warc_dir)
    if not isinstance(store, ObjectStore):
        return None

    def upload(name: str) -> None:
        try:
            upload_one(store, warc_dir, name)
        except (OSError, StoreError) as exc:
            log.warning("%s stays in %s until `collector warc upload`: %s", name, warc_dir, exc)

    return upload


def upload_leftovers(warc_dir: Path) -> UploadReport | None:
    """At a writer's start: upload what earlier writers of the staging directory ``warc_dir`` left
    (a writer killed before it closed its file: its committed rows point into it; a torn tail goes
    too, as written, for verify to report). None without an attached object store; failures are
    logged (the files stay for ``collector warc upload``)."""
    store = attached(warc_dir)
    if not isinstance(store, ObjectStore):
        return None
    try:
        report = upload_pending(warc_dir, store)
    except StoreError as exc:
        log.warning("leftover WARC files stay in %s: %s", warc_dir, exc)
        return None
    for failed in report.failed:
        log.warning("%s stays in %s: %s", failed["name"], warc_dir, failed["reason"])
    return report
