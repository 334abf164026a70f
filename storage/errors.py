"""The storage error tree.

    StorageError
    ├── ArchiveCorruptError (ValueError)   a WARC record is missing, torn or does not match its digests
    └── NoCaptureError (LookupError)       no capture matches a URL (and time)
"""

from __future__ import annotations

__all__ = ["ArchiveCorruptError", "NoCaptureError", "StorageError"]


class StorageError(Exception):
    """Base of every error raised by storage."""


class ArchiveCorruptError(StorageError, ValueError):
    """A WARC record cannot be read back as it was written."""


class NoCaptureError(StorageError, LookupError):
    """No capture matches the URL (and time) asked for."""
