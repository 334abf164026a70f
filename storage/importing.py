"""Bringing WARC files made elsewhere into the archive's WARC store (``collector import``).

A file is checked whole with warcio first (a file that is not a WARC, or a truncated gzip, is refused
with an ``ArchiveCorruptError`` naming it, and nothing is copied), then copied into the WARC
directory, so the home stays self-contained and ``verify`` and ``get --warc`` read it like collector's
own files. A ``.warc.gz`` with one gzip member per record (what wget, warcio, pywb, browsertrix and
Heritrix write) is copied byte for byte; an uncompressed ``.warc`` (or a gzip of several records per
member) is stored as a ``.warc.gz`` with each record's bytes, unchanged, in a gzip member of its own
(collector's reader reads a record by offset). A WACZ's ``archive/*.warc*`` files are each stored
that way, named ``<wacz name>-<file name>``. A file already in the store with the same bytes is not
copied again.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from storage.errors import ArchiveCorruptError
from storage.warcread import scan_file

__all__ = ["store_inputs"]

_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, label: str) -> bool:
    """Read every record of the file; True when it can be stored byte for byte (one gzip member per
    record), False when it must be re-gzipped record by record. ArchiveCorruptError naming ``label``
    when it is not a complete WARC file (not a WARC, a truncated gzip, a torn record)."""
    if _per_record_gzip(path):
        return True
    count = 0
    try:
        with open(path, "rb") as head:
            gzipped = head.read(2) == b"\x1f\x8b"
        if gzipped:  # several records per member: the gzip must be whole
            with gzip.open(path, "rb") as whole:
                while whole.read(_CHUNK):
                    pass
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, check_digests=False):
                if record.format != "warc" or not str(record.rec_headers.protocol).startswith(
                        "WARC/"):
                    raise ValueError("no WARC record header")
                record.content_stream().read()
                count += 1
    except (ArchiveLoadFailed, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ArchiveCorruptError(f"{label}: not a complete WARC file ({type(exc).__name__}: "
                                  f"{exc})") from exc
    if count == 0:
        raise ArchiveCorruptError(f"{label}: no WARC records in it")
    return False


def _per_record_gzip(path: Path) -> bool:
    """True when every record of the file is a gzip member of its own (collector's reader reads it)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"\x1f\x8b":
                return False
        seen = False
        for item in scan_file(path):  # one record at a time: files can be large
            if isinstance(item, ArchiveCorruptError):
                return False
            seen = True
    except OSError:
        return False
    return seen


def _regzip(source: Path, target: Path) -> None:
    """Write ``source``'s records (bytes unchanged) to ``target``, one gzip member per record."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.warc"
        with open(source, "rb") as head:
            gzipped = head.read(2) == b"\x1f\x8b"
        reader = cast(IO[bytes], gzip.open(source, "rb") if gzipped else open(source, "rb"))  # noqa: SIM115
        with reader, open(plain, "wb") as out:
            shutil.copyfileobj(reader, out, _CHUNK)
        starts = []
        with open(plain, "rb") as fh:
            iterator = ArchiveIterator(fh, check_digests=False)
            for record in iterator:
                record.content_stream().read()
                starts.append(iterator.get_record_offset())
        # each record up to the next (its closing CRLFs included, as written)
        ends = [*starts[1:], plain.stat().st_size]
        with open(plain, "rb") as fh, open(target, "xb") as out:
            for offset, end in zip(starts, ends, strict=True):
                length = end - offset
                fh.seek(offset)
                out.write(gzip.compress(fh.read(length), compresslevel=6))


def _gz_name(name: str) -> str:
    base = name[:-3] if name.endswith(".gz") else name
    return base if base.endswith(".warc") else base + ".warc"


def _store_one(source: Path, label: str, name: str, warc_dir: Path) -> str:
    """Copy one checked WARC file into ``warc_dir`` under a free name; the name it has there."""
    same_bytes = _check(source, label)
    stem = _gz_name(name)
    warc_dir.mkdir(parents=True, exist_ok=True)
    digest = _sha256(source) if same_bytes else None
    for n in range(1000):
        candidate = f"{stem}.gz" if n == 0 else f"{stem[:-5]}-{n}.warc.gz"
        target = warc_dir / candidate
        if target.exists():
            if same_bytes and _sha256(target) == digest:
                return candidate  # imported before
            continue
        if same_bytes:
            with open(source, "rb") as src, open(target, "xb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
        else:
            _regzip(source, target)
        return candidate
    raise ArchiveCorruptError(f"{label}: no free name for it in {warc_dir}")


def store_inputs(path: Path, warc_dir: Path) -> list[str]:
    """Copy a WARC, WARC.gz or WACZ file's WARC files into ``warc_dir``; their names there.

    Raises ArchiveCorruptError (naming ``path``) when it is not readable as one of them.
    """
    if not path.is_file():
        raise ArchiveCorruptError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        return list(_store_wacz(path, warc_dir))
    return [_store_one(path, str(path), path.name, warc_dir)]


def _store_wacz(path: Path, warc_dir: Path) -> Iterator[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist()
                       if m.startswith("archive/") and ".warc" in m.rsplit("/", 1)[-1]]
            if not members:
                raise ArchiveCorruptError(f"{path}: a zip file without archive/*.warc* files "
                                          "(not a WACZ)")
            stored = []
            with tempfile.TemporaryDirectory() as tmp:
                for member in sorted(members):
                    base = member.rsplit("/", 1)[-1]
                    local = Path(tmp) / base
                    with zf.open(member) as src, open(local, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
                    stored.append(_store_one(local, f"{path}:{member}",
                                             f"{path.stem}-{base}", warc_dir))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ArchiveCorruptError(f"{path}: unreadable WACZ ({exc})") from exc
    yield from stored
