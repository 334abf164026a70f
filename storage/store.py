"""The WARC store: where WARC files live for every worker and every server (issue 16).

Rows name a WARC file by its *store-relative name* (``collector-<stamp>-<worker>-<pid>-<serial>.warc.gz``),
never by a path or URI: the store is configuration, so an archive can move between stores and rows
written before stores existed read the same. Two kinds of store:

``DirectoryStore``
    A directory, local or on a network filesystem (NFS, SMB, CephFS): writers write into it directly
    (each worker's files carry its name, so writers never share a file), readers open files in it.

``ObjectStore``
    S3-compatible object storage (``s3://bucket/prefix``, through fsspec/s3fs). Files are written and
    sealed in a local *staging* directory as for a directory store (flushed and fsynced before the rows
    that point at them commit), and uploaded whole when the writer closes them (at rotation and at
    close) and by ``upload_pending`` (``collector warc upload``; a worker's start, which uploads what a
    worker killed meanwhile left behind, torn tail included: verify reports it as for a local file).
    An upload never changes bytes: the object is read back and its sha256 compared with the local
    file's. Readers read a range of the object (one HTTP range request per block).

Reading: ``open_warc(warc_dir, name)`` opens ``name`` in ``warc_dir`` (a directory store, or an object
store's staging directory) and, when it is not there, in the object store ``attach``-ed to that
directory; every reader of storage (records, payload streams, verify, exports, replay) goes through it.
Uploading is ``storage.upload``'s.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from storage.errors import ArchiveCorruptError, StoreError

__all__ = ["DirectoryStore", "ObjectStore", "WarcStore", "attach", "attached", "detach", "make_store",
           "open_warc", "safe_path", "warc_names", "worker_label"]

# A worker's name as it appears in its files' names (never "merged...": consolidate's files are named so)
WORKER_NAME = re.compile(r"(?!merged)[A-Za-z0-9._][A-Za-z0-9._-]{0,62}")
WARC_SUFFIX = ".warc.gz"
READ_BLOCK = 64 * 1024  # bytes per range request when reading a record from an object store
RANGE_CACHE = 8 * 2**20  # bytes of recently read ranges an object store keeps
_CHUNK = 4 * 2**20


class WarcStore:
    """Where WARC files are kept. ``open`` raises FileNotFoundError for a name the store lacks."""

    uri: str

    def open(self, name: str, offset: int | None = None) -> BinaryIO:
        """The file ``name``, opened for reading (seekable); ``offset``: where reading starts (a hint)."""
        raise NotImplementedError

    def names(self) -> list[str]:
        """The names of every WARC file in the store, sorted."""
        raise NotImplementedError

    def size(self, name: str) -> int | None:
        """The size of ``name`` in the store; None when it has no such file."""
        raise NotImplementedError


@dataclass
class DirectoryStore(WarcStore):
    """A directory of WARC files (local or network filesystem)."""

    path: Path

    @property
    def uri(self) -> str:  # type: ignore[override]
        """The directory, as an absolute path."""
        return str(Path(self.path).resolve())

    def open(self, name: str, offset: int | None = None) -> BinaryIO:
        """The file ``name`` of the directory, opened for reading."""
        return open(safe_path(self.path, name), "rb")

    def names(self) -> list[str]:
        """The directory's WARC files, sorted."""
        return sorted(p.name for p in Path(self.path).glob("*" + WARC_SUFFIX))

    def size(self, name: str) -> int | None:
        """The size of ``name`` in the directory; None when it is not there."""
        try:
            return safe_path(self.path, name).stat().st_size
        except FileNotFoundError:
            return None


class ObjectStore(WarcStore):
    """WARC files as objects under ``s3://bucket/prefix`` (any fsspec filesystem ``fs``)."""

    def __init__(self, uri: str, fs: Any = None, *, endpoint_url: str = "") -> None:
        _, _, rest = uri.partition("://")
        self.uri = uri.rstrip("/")
        self.root = rest.strip("/")
        self.endpoint_url = endpoint_url
        self._fs = fs
        # object sizes seen: a read that starts before the size seen needs no HEAD request (objects
        # only ever grow, by a whole upload: a record lies wholly before or after a size seen)
        self._sizes: dict[str, int] = {}
        # the last ranges read (objects never change below a size seen): a replay reads a record
        # twice (sha256 check, then stream) and its headers once more, from the same offset
        self._ranges: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` of object ``key`` (one GET, unless read lately)."""
        with self._lock:
            data = self._ranges.get((key, start, end))
            if data is not None:
                self._ranges.move_to_end((key, start, end))
                return data
        data = bytes(self.fs.cat_file(key, start=start, end=end))
        with self._lock:
            self._ranges[(key, start, end)] = data
            self._cached += len(data)
            while self._cached > RANGE_CACHE and self._ranges:
                self._cached -= len(self._ranges.popitem(last=False)[1])
        return data

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str = "") -> ObjectStore:
        """The store at ``s3://bucket/prefix`` (``endpoint_url``: an S3-compatible server such as MinIO,
        Ceph or moto; credentials come from botocore's usual chain: environment, ~/.aws, instance role).
        Nothing is imported or connected before the first use."""
        if not uri.startswith("s3://") or not uri[5:].strip("/"):
            raise StoreError(f"not an S3 store: {uri!r} (s3://bucket/prefix)")
        return cls(uri, endpoint_url=endpoint_url)

    @property
    def fs(self) -> Any:
        """The s3fs filesystem (made on first use)."""
        if self._fs is None:
            try:  # the [s3] extra, imported here: only a home with an s3:// store needs it (~0.3 s)
                import s3fs  # type: ignore[import-untyped]
            except ImportError as exc:
                raise StoreError(f"the WARC store {self.uri} needs s3fs: "
                                 f"pip install 'collector[s3]'") from exc
            options: dict[str, Any] = {"skip_instance_cache": True}
            if self.endpoint_url:
                options["endpoint_url"] = self.endpoint_url
            self._fs = s3fs.S3FileSystem(**options)
        return self._fs

    def _key(self, name: str) -> str:
        if "/" in name or name.startswith("."):
            raise ArchiveCorruptError(f"WARC file name {name!r} points outside the store {self.uri}")
        return f"{self.root}/{name}"

    def open(self, name: str, offset: int | None = None) -> BinaryIO:
        """The object ``name``, read by range requests of at least ``READ_BLOCK`` bytes (one GET per
        read past the buffer). Reading from ``offset`` before a size seen costs no HEAD request; a
        whole-file read does."""
        key = self._key(name)
        known = self._sizes.get(name)
        if offset is None or known is None or offset >= known:
            known = self.size(name)
            if known is None:
                raise FileNotFoundError(key)
        return cast(BinaryIO, io.BufferedReader(_RangeReader(self, key, known), READ_BLOCK))

    def sizes(self) -> dict[str, int]:
        """Every WARC object's size by name (one listing: a request per 1,000 objects)."""
        try:
            found = self.fs.ls(self.root, detail=True, refresh=True)
        except FileNotFoundError:
            return {}
        sizes = {item["name"].rsplit("/", 1)[-1]: int(item["size"]) for item in found
                 if item["name"].endswith(WARC_SUFFIX)}
        self._sizes.update(sizes)
        return sizes

    def names(self) -> list[str]:
        """The store's WARC objects, sorted."""
        return sorted(self.sizes())

    def size(self, name: str) -> int | None:
        """The size of object ``name``; None when the store has none."""
        key = self._key(name)
        try:
            self.fs.invalidate_cache(key)
            size = self._sizes[name] = int(self.fs.size(key))
        except FileNotFoundError:
            return None
        return size

    def upload(self, path: Path, name: str) -> str:
        """Upload the local file ``path`` as ``name``, then read it back: StoreError unless the
        object's sha256 is the file's. Returns the sha256 (hex)."""
        key = self._key(name)
        local = _sha256(open(path, "rb"))  # noqa: SIM115 - _sha256 closes it
        try:
            self.fs.put_file(str(path), key)
            self.fs.invalidate_cache(key)
            remote = _sha256(self.fs.open(key, "rb", block_size=_CHUNK))
        except OSError as exc:
            raise StoreError(f"cannot upload {name} to the WARC store {self.uri}: {exc}") from exc
        if remote != local:
            raise StoreError(f"{name} in the WARC store {self.uri} differs from the local file after "
                             f"upload (sha256 {remote} instead of {local})")
        return local


class _RangeReader(io.RawIOBase):
    """An object read by HTTP range requests (``cat_file(start, end)``): one GET per ``readinto``.
    (fsspec's own file objects send a HEAD request per open even when the size is given.)"""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self.store, self.key, self.size, self.pos = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = max(0, pos + (0, self.pos, self.size)[whence])
        return self.pos

    def readinto(self, buffer: Any) -> int:
        end = min(self.pos + len(buffer), self.size)
        if end <= self.pos:
            return 0
        try:
            data = self.store.read_range(self.key, self.pos, end)
        except OSError as exc:
            raise StoreError(f"cannot read {self.key} from the WARC store {self.store.uri}: {exc}") from exc
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def _sha256(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    with fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def make_store(uri: str, *, endpoint_url: str = "") -> WarcStore:
    """The store ``uri`` names: ``s3://bucket/prefix`` an ``ObjectStore``, anything else a directory."""
    if uri.startswith("s3://"):
        return ObjectStore.from_uri(uri, endpoint_url=endpoint_url)
    if "://" in uri:
        raise StoreError(f"unknown WARC store {uri!r}: give a directory or s3://bucket/prefix")
    return DirectoryStore(Path(uri))


def worker_label(name: str) -> str:
    """``name`` (a host name, a worker's name) made fit for WARC file names: characters other than
    letters, digits, ``.``, ``_`` and ``-`` become ``_`` (a name consolidate uses is prefixed ``w``)."""
    label = re.sub(r"[^A-Za-z0-9._-]", "_", name.strip())[:63].lstrip("-") or "worker"
    return label if WORKER_NAME.fullmatch(label) else "w" + label[:62]


# -- reading ----------------------------------------------------------------------------------------
_ATTACHED: dict[Path, WarcStore] = {}


def attach(warc_dir: Path, store: WarcStore) -> None:
    """Make ``store`` the place where readers of ``warc_dir`` look for files that are not in it
    (the object store whose staging directory ``warc_dir`` is)."""
    _ATTACHED[Path(warc_dir).resolve()] = store


def detach(warc_dir: Path) -> None:
    """Undo ``attach``."""
    _ATTACHED.pop(Path(warc_dir).resolve(), None)


def attached(warc_dir: Path) -> WarcStore | None:
    """The store attached to ``warc_dir``, if any."""
    return _ATTACHED.get(Path(warc_dir).resolve())


def safe_path(warc_dir: Path, warc_file: str) -> Path:
    """The path of ``warc_file`` under ``warc_dir``; ArchiveCorruptError when the name leads outside it."""
    base = Path(warc_dir).resolve()
    path = (base / warc_file).resolve()
    if base not in path.parents:
        raise ArchiveCorruptError(f"WARC file name {warc_file!r} points outside {base}")
    return path


def open_warc(warc_dir: Path, warc_file: str, offset: int | None = None) -> BinaryIO:
    """``warc_file`` opened for reading: from ``warc_dir``, else from the store attached to it
    (``offset``: where the caller starts reading, which spares an object store a request).
    ArchiveCorruptError when neither has it (or the name leads outside them)."""
    path = safe_path(warc_dir, warc_file)
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        store = attached(warc_dir)
        if store is None:
            raise ArchiveCorruptError(f"WARC file {warc_file} is missing") from exc
        try:
            return store.open(warc_file, offset)
        except FileNotFoundError as exc2:
            raise ArchiveCorruptError(f"WARC file {warc_file} is missing "
                                      f"(not in {warc_dir} nor in {store.uri})") from exc2


def warc_names(warc_dir: Path) -> list[str]:
    """Every WARC file readers of ``warc_dir`` can open: its own and its attached store's, sorted."""
    names = set(DirectoryStore(Path(warc_dir)).names())
    store = attached(warc_dir)
    if store is not None:
        names.update(store.names())
    return sorted(names)
