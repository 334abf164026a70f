"""ArchiveWriter: captures committed as they come, extracted texts committed in groups."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from collector.capture.extract_pool import ExtractionPool
from collector.capture.writer import ArchiveWriter
from storage import queries
from storage.archive import Archive
from storage.database import connect
from storage.records import CaptureRecord
from tests.storage.helpers import T0, html_capture

PAGE = b"<html><head><title>Page %d</title></head><body><article><p>%s</p></article></body></html>"


def test_texts_are_committed_in_groups_and_every_capture_is_emitted(db_url: str,
                                                                    tmp_path: Path) -> None:
    archive = Archive(connect(db_url), tmp_path / "warcs")
    pool = ExtractionPool(archive.warc_dir, workers=2, timeout=30, max_bytes=2**20)
    groups: list[int] = []
    commit = archive.commit_extractions

    def counting(inputs):  # type: ignore[no-untyped-def]  # the real commit, counted
        groups.append(len(inputs))
        return commit(inputs)

    archive.commit_extractions = counting  # type: ignore[method-assign]
    emitted: list[CaptureRecord] = []
    writer = ArchiveWriter(archive, pool=pool, emit=emitted.append, batch=64,
                           text_delay=5.0).start()
    n = 12
    futures = [writer.submit(html_capture(
        f"https://example.com/story/{i}", T0 + timedelta(seconds=i),
        body=PAGE % (i, (b"Paragraph number %d of a story. " % i) * 40))) for i in range(n)]
    try:
        for future in futures:
            future.result(timeout=60)
        writer.close()
    finally:
        pool.close()
    assert sum(groups) == n and len(groups) < n  # grouped, not one transaction per text
    assert sorted(r.url for r in emitted) == sorted(f"https://example.com/story/{i}"
                                                    for i in range(n))
    assert all(r.extraction_status == "ok" and r.text_sha256 for r in emitted)
    assert queries.pending_extractions(archive.sessions) == []
    archive.close()


def test_writer_is_congested_while_captures_wait_to_be_written(db_url: str,
                                                              tmp_path: Path) -> None:
    """The pipeline waits for commits only when the writer is behind (by count or by bytes)."""
    archive = Archive(connect(db_url), tmp_path / "warcs")
    writer = ArchiveWriter(archive, pool=None, emit=lambda _r: None, batch=2,
                           max_queued_bytes=10 * len(PAGE))
    futures = [writer.submit(html_capture(f"https://example.com/{i}", T0)) for i in range(3)]
    assert not writer.congested  # 3 waiting, fewer than 2 batches
    futures.append(writer.submit(html_capture("https://example.com/3", T0)))
    assert writer.congested
    writer.start()
    for future in futures:
        future.result(timeout=60)
    assert not writer.congested
    big = writer.submit(html_capture("https://example.com/big", T0, body=PAGE * 20))
    big.result(timeout=60)
    writer.close()
    assert writer.error is None
    archive.close()


def test_a_big_capture_alone_congests_the_writer(db_url: str, tmp_path: Path) -> None:
    archive = Archive(connect(db_url), tmp_path / "warcs")
    writer = ArchiveWriter(archive, pool=None, emit=lambda _r: None, batch=64,
                           max_queued_bytes=10 * len(PAGE))
    future = writer.submit(html_capture("https://example.com/big", T0, body=PAGE * 20))
    assert writer.congested
    writer.start()
    future.result(timeout=60)
    assert not writer.congested
    writer.close()
    archive.close()


def test_the_pool_is_handed_a_few_pages_per_worker_at_a_time(db_url: str, tmp_path: Path) -> None:
    """Captures wait for extraction in the writer, not as thousands of tasks in the pool."""
    import threading

    archive = Archive(connect(db_url), tmp_path / "warcs")
    pool = ExtractionPool(archive.warc_dir, workers=1, timeout=30, max_bytes=2**20)
    submit, lock, counts = pool.submit, threading.Lock(), {"now": 0, "most": 0}

    def counting(payload_file, payload_offset, url, done):  # type: ignore[no-untyped-def]
        def finished(result):  # type: ignore[no-untyped-def]
            with lock:
                counts["now"] -= 1
            done(result)

        with lock:
            counts["now"] += 1
            counts["most"] = max(counts["most"], counts["now"])
        submit(payload_file, payload_offset, url, finished)  # the real pool, counted

    pool.submit = counting  # type: ignore[method-assign]
    emitted: list[CaptureRecord] = []
    writer = ArchiveWriter(archive, pool=pool, emit=emitted.append, inflight_per_worker=2).start()
    n = 10
    for i in range(n):
        writer.submit(html_capture(f"https://example.com/queued/{i}", T0 + timedelta(seconds=i),
                                   body=PAGE % (i, b"Words of a queued page. " * 30)))
    try:
        writer.close()
    finally:
        pool.close()
    assert counts["most"] == 2  # never more than 2 per worker with the pool
    assert len(emitted) == n and all(r.extraction_status == "ok" for r in emitted)
    assert queries.pending_extractions(archive.sessions) == []
    archive.close()
