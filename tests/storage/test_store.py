"""The WARC store (issue 16): worker names in file names, the s3:// object store on a real S3-compatible
server (moto's), uploads checked by sha256, reads by range from a home that has none of the files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage import retrieve
from storage.archive import Archive
from storage.errors import ArchiveCorruptError, StoreError
from storage.store import WORKER_NAME, ObjectStore, attach, attached, detach, open_warc, worker_label
from storage.upload import upload_leftovers, upload_pending
from storage.verify import verify_archive
from storage.warcfile import WarcFileWriter, file_day
from tests.storage.helpers import html_capture

DAY = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _store(endpoint: str, bucket: str) -> ObjectStore:
    return ObjectStore.from_uri(f"s3://{bucket}/warcs", endpoint_url=endpoint)


@pytest.fixture
def staged(tmp_path: Path) -> Any:
    """Attach stores to directories for one test, and detach them after it."""
    dirs: list[Path] = []

    def stage(warc_dir: Path, store: ObjectStore) -> Path:
        attach(warc_dir, store)
        dirs.append(warc_dir)
        return warc_dir

    yield stage
    for warc_dir in dirs:
        detach(warc_dir)


def _write(directory: Path, worker: str, uri: str) -> str:
    writer = WarcFileWriter(directory, worker=worker, append=True, clock=lambda: DAY)
    writer.write_resource(uri, b"body of " + uri.encode(), content_type="text/plain", moment=DAY)
    name = writer.current_file
    writer.close()
    assert name is not None
    return name


def test_workers_sharing_a_directory_each_continue_their_own_file(tmp_path: Path) -> None:
    shared = tmp_path / "store"
    alpha, beta = _write(shared, "alpha", "urn:a1"), _write(shared, "web-2.example.org", "urn:b1")
    assert alpha != beta and "-alpha-" in alpha and "-web-2.example.org-" in beta
    # a next run of each worker continues its own file, never the other's (both are unsealed)
    assert _write(shared, "alpha", "urn:a2") == alpha
    assert _write(shared, "web-2.example.org", "urn:b2") == beta
    # a new worker starts a file of its own; a writer without a name never takes a named one
    gamma, nameless = _write(shared, "gamma", "urn:c"), _write(shared, "", "urn:d")
    assert len({alpha, beta, gamma, nameless}) == 4
    assert [file_day(n) for n in (alpha, beta, gamma, nameless)] == ["20260304"] * 4
    assert file_day("collector-20260304050607000000-merged-12-00001.warc.gz") is None


@pytest.mark.parametrize(("name", "label"), [
    ("web-1.example.org", "web-1.example.org"), ("my host/β", "my_host__"), ("merged", "wmerged"),
    ("-x", "x"), ("", "worker")])
def test_worker_label_makes_any_name_fit_a_file_name(name: str, label: str) -> None:
    assert worker_label(name) == label
    assert WORKER_NAME.fullmatch(label)


def test_a_bad_worker_name_is_refused_by_the_writer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="merged-1"):
        WarcFileWriter(tmp_path, worker="merged-1")


def test_a_missing_file_names_both_places_looked_in(tmp_path: Path, s3_endpoint: str, s3_bucket: str,
                                                     staged: Any) -> None:
    with pytest.raises(ArchiveCorruptError, match=r"is missing$"):
        open_warc(tmp_path, "nothing.warc.gz")
    staged(tmp_path, _store(s3_endpoint, s3_bucket))
    with pytest.raises(ArchiveCorruptError, match=f"not in .* nor in s3://{s3_bucket}/warcs"):
        open_warc(tmp_path, "nothing.warc.gz")
    with pytest.raises(ArchiveCorruptError, match="outside"):
        open_warc(tmp_path, "../x.warc.gz")


def test_object_store_uploads_at_close_and_another_home_reads_by_range(
        tmp_path: Path, s3_endpoint: str, s3_bucket: str, staged: Any) -> None:
    store = _store(s3_endpoint, s3_bucket)
    writing = staged(tmp_path / "a" / "warcs", store)
    reading = staged(tmp_path / "b" / "warcs", _store(s3_endpoint, s3_bucket))
    db = f"sqlite:///{tmp_path / 'collector.db'}"
    archive = Archive.open(db, writing, worker="alpha")
    bodies = [f"<html><body>page {n} {'x' * 3000 * n}</body></html>".encode() for n in range(4)]
    captures = archive.commit_captures([html_capture(f"http://example.org/{n}", body=body)
                                        for n, body in enumerate(bodies)])
    assert store.names() == []  # the file is not closed yet: nothing is uploaded
    archive.close()
    [local] = sorted(writing.glob("*.warc.gz"))
    assert store.names() == [local.name] and "-alpha-" in local.name
    assert hashlib.sha256(store.fs.cat_file(f"{s3_bucket}/warcs/{local.name}")).hexdigest() == _sha(local)

    assert not reading.exists()  # the second home has no file: every read below is a range request
    for capture, body in zip(captures, bodies, strict=True):
        assert retrieve.capture_payload(reading, capture) == body
        assert retrieve.capture_warc(reading, capture) == retrieve.capture_warc(writing, capture)
    report = verify_archive(archive.sessions, reading)
    assert report.ok and report.files_scanned == 1 and report.captures_checked == 4, report.to_json()


def test_upload_pending_leaves_busy_files_and_never_shortens_an_object(
        tmp_path: Path, s3_endpoint: str, s3_bucket: str, staged: Any) -> None:
    store = _store(s3_endpoint, s3_bucket)
    warcs = staged(tmp_path / "warcs", store)
    writer = WarcFileWriter(warcs, worker="alpha")  # no on_close: a writer that never uploads
    writer.write_resource("urn:x", b"x" * 1000, content_type="text/plain", moment=DAY)
    writer.sync()
    name = writer.current_file
    report = upload_pending(warcs, store)
    assert report.busy == [name] and report.uploaded == []
    writer.close()
    report = upload_pending(warcs, store)
    assert [u["name"] for u in report.uploaded] == [name]
    assert report.uploaded[0]["sha256"] == _sha(warcs / str(name))
    assert upload_pending(warcs, store).current == [name]  # nothing to do the second time

    whole = (warcs / str(name)).read_bytes()
    (warcs / str(name)).write_bytes(whole[:100])  # a local copy shorter than the object
    report = upload_pending(warcs, store)
    assert report.uploaded == [] and "not overwritten" in report.failed[0]["reason"]
    assert store.fs.cat_file(f"{s3_bucket}/warcs/{name}") == whole


class _Corrupting:
    """An fsspec filesystem whose uploads lose a byte on the way (all else is the real one's)."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fs, name)

    def put_file(self, lpath: str, rpath: str) -> None:
        self.fs.pipe_file(rpath, Path(lpath).read_bytes()[:-1] + b"?")


def test_an_upload_that_changed_bytes_is_an_error(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    name = _write(tmp_path, "alpha", "urn:x")
    real = _store(s3_endpoint, s3_bucket)
    store = ObjectStore(real.uri, _Corrupting(real.fs))
    with pytest.raises(StoreError, match=f"{name} in the WARC store .* differs from the local file"):
        store.upload(tmp_path / name, name)
    assert isinstance(StoreError("x"), OSError)


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from storage.warcfile import WarcFileWriter
from datetime import UTC, datetime
writer = WarcFileWriter(Path(sys.argv[1]), worker="alpha")
writer.write_resource("urn:kept", b"kept" * 500, content_type="text/plain", moment=datetime.now(UTC))
writer.sync()
print(writer.current_file, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_next_start_uploads_what_a_killed_writer_left_torn_tail_and_all(
        tmp_path: Path, s3_endpoint: str, s3_bucket: str, staged: Any) -> None:
    store = _store(s3_endpoint, s3_bucket)
    warcs = staged(tmp_path / "warcs", store)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), str(warcs)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    name = proc.stdout.strip()
    with open(warcs / name, "ab") as fh:  # the record it was writing when it died
        fh.write(b"\x1f\x8b\x08\x00torn")
    assert store.names() == []
    report = upload_leftovers(warcs)
    assert report is not None and [u["name"] for u in report.uploaded] == [name]
    assert hashlib.sha256(store.fs.cat_file(f"{s3_bucket}/warcs/{name}")).hexdigest() == _sha(warcs / name)
    # read from a home without the file, the torn tail is reported as for a local file
    from storage.database import connect

    reader = staged(tmp_path / "reader", store)
    sessions = connect(f"sqlite:///{tmp_path / 'collector.db'}")
    verdict = verify_archive(sessions, reader)
    assert [w["kind"] for w in verdict.warnings] == ["torn-tail"] and verdict.files_scanned == 1
    assert attached(reader) is store
