"""Appending to the directory's open WARC file across writers (issue 13): one writer per file (a
flock), a new file for a torn tail, a full file or a new UTC day; every run's records name its
own warcinfo record."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from storage.errors import ArchiveCorruptError
from storage.warcfile import WarcFileWriter, file_day
from storage.warcread import WarcRecord, read_record_at, scan_file, tail_is_complete
from tests.storage.helpers import (
    HTML,
    T0,
    FixedClock,
    SequentialIds,
    exchange,
    warc_files,
    warcio_check_files,
)


def appender(directory: Path, *, at: timedelta = timedelta(0), namespace: int = 0,
             max_bytes: int = 1024**3) -> WarcFileWriter:
    return WarcFileWriter(directory, max_bytes=max_bytes, clock=FixedClock(T0 + at),
                          record_id=SequentialIds(namespace=namespace), append=True)


def write_page(writer: WarcFileWriter, n: int) -> list[int]:
    response, request = writer.write_exchange(exchange(f"https://example.com/{n}", T0,
                                                       body=HTML + b"<!-- %d -->" % n))
    assert response is not None
    writer.sync()
    return [response.offset, request.offset]


def records(path: Path) -> list[WarcRecord]:
    out = list(scan_file(path))
    assert not any(isinstance(r, ArchiveCorruptError) for r in out), out
    return out  # type: ignore[return-value]


def test_writers_in_a_row_append_to_one_file_each_with_its_own_warcinfo(tmp_path: Path) -> None:
    offsets = []
    for run in range(3):
        writer = appender(tmp_path, namespace=run + 1)
        offsets.append(write_page(writer, run))
        writer.close()
    files = warc_files(tmp_path)
    assert len(files) == 1
    found = records(files[0])
    assert [r.type for r in found] == ["warcinfo", "response", "request"] * 3
    infos = [r for r in found if r.type == "warcinfo"]
    assert all(r.headers["WARC-Filename"] == files[0].name for r in infos)
    # every record names the warcinfo of its run: the last one before it
    current = None
    for record in found:
        if record.type == "warcinfo":
            assert "WARC-Warcinfo-ID" not in record.headers
            current = record.headers["WARC-Record-ID"]
        else:
            assert record.headers["WARC-Warcinfo-ID"] == current
    for run, (response, request) in enumerate(offsets):
        assert read_record_at(tmp_path, files[0].name, response).payload.endswith(
            b"<!-- %d -->" % run)
        assert read_record_at(tmp_path, files[0].name, request).type == "request"
    warcio_check_files(*files)
    # warcio's index finds every record where collector's reader does
    tool = Path(sys.executable).parent / "warcio"
    index = subprocess.run([str(tool), "index", "-f", "offset,warc-type,warc-record-id",
                            str(files[0])], capture_output=True, text=True, check=True)
    entries = [json.loads(line) for line in index.stdout.splitlines()]
    assert [(int(e["offset"]), e["warc-type"], e["warc-record-id"]) for e in entries] == \
        [(r.offset, r.type, r.headers["WARC-Record-ID"]) for r in found]


def test_a_file_another_writer_holds_is_never_shared(tmp_path: Path) -> None:
    first = appender(tmp_path, namespace=1)
    write_page(first, 1)
    second = appender(tmp_path, namespace=2)  # the first still holds its file
    write_page(second, 2)
    assert first.current_file != second.current_file
    first.close()
    second.close()
    assert len(warc_files(tmp_path)) == 2
    third = appender(tmp_path, namespace=3)  # both are free now: the newest is continued
    write_page(third, 3)
    assert third.current_file == max(p.name for p in warc_files(tmp_path))
    third.close()
    assert len(warc_files(tmp_path)) == 2
    warcio_check_files(*warc_files(tmp_path))


def test_a_torn_tail_is_not_appended_after(tmp_path: Path) -> None:
    writer = appender(tmp_path, namespace=1)
    write_page(writer, 1)
    writer.close()
    [path] = warc_files(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole + gzip.compress(b"WARC/1.1\r\nContent-Length: 500\r\n\r\nshort")[:-9])
    torn = path.read_bytes()
    later = appender(tmp_path, namespace=2)
    write_page(later, 2)
    later.close()
    files = warc_files(tmp_path)
    assert len(files) == 2
    assert path.read_bytes() == torn  # untouched: verify still reports its torn tail
    assert isinstance(list(scan_file(path))[-1], ArchiveCorruptError)
    records(files[1])


def test_a_full_file_or_one_of_an_earlier_day_is_sealed(tmp_path: Path) -> None:
    writer = appender(tmp_path, namespace=1, max_bytes=2000)
    write_page(writer, 1)
    write_page(writer, 2)
    writer.close()
    assert len(warc_files(tmp_path)) == 1
    full = appender(tmp_path, namespace=2, max_bytes=2000)
    write_page(full, 3)
    full.close()
    assert len(warc_files(tmp_path)) == 2  # the first had passed max_bytes
    next_day = appender(tmp_path, namespace=3, at=timedelta(days=1))
    write_page(next_day, 4)
    next_day.close()
    files = warc_files(tmp_path)
    assert len(files) == 3
    assert [file_day(p.name) for p in files] == ["20240501", "20240501", "20240502"]


def test_tail_is_complete(tmp_path: Path) -> None:
    writer = appender(tmp_path)
    write_page(writer, 1)
    writer.close()
    [path] = warc_files(tmp_path)
    whole = path.read_bytes()
    cases = {
        b"": False,
        whole: True,
        whole[:-1]: False,  # the last member cut short
        whole + b"\x00": False,  # bytes after the last member
        whole + gzip.compress(b"WARC/1.1\r\nContent-Length: 9\r\n\r\nabc"): False,  # short block
        whole + gzip.compress(b"not a record"): False,
        whole + gzip.compress(b"WARC/1.1\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n"): True,
    }
    for n, (data, expected) in enumerate(cases.items()):
        target = tmp_path / f"case{n}.bin"
        target.write_bytes(data)
        with open(target, "rb") as fh:
            assert tail_is_complete(fh) is expected, n
