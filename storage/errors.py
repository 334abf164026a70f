"""The storage error tree.

    StorageError
    ├── ArchiveCorruptError (ValueError)   a WARC record is missing, torn or does not match its digests
    ├── ContentDecodeError (ValueError)    an archived payload's Content-Encoding cannot be undone
    ├── DuplicateNameError (ValueError)    a name (feed, ...) is already taken
    ├── InvalidUrlError (ValueError)       a URL that has no canonical key (``http://[::1``, bad port)
    ├── SearchQueryError (ValueError)      a full-text query the search index cannot parse
    ├── StoreError (OSError)               the WARC store cannot be reached, or an upload did not match
    └── NotFoundError (LookupError)        nothing stored matches what was asked for
        ├── NoCaptureError                 no capture matches a URL (and time)
        ├── NoReportError                  no report of that name
        └── NoTokenError                   no API token with that id
"""

from __future__ import annotations

__all__ = ["ArchiveCorruptError", "ContentDecodeError", "DecodedTooLargeError", "DuplicateNameError",
           "InvalidUrlError",
           "NoCaptureError", "NoReportError", "NoTokenError", "NotFoundError", "SearchQueryError",
           "StorageError", "StoreError"]


class StorageError(Exception):
    """Base of every error raised by storage."""


class ArchiveCorruptError(StorageError, ValueError):
    """A WARC record cannot be read back as it was written."""


class ContentDecodeError(StorageError, ValueError):
    """A payload's ``Content-Encoding`` is unknown, corrupt, or decodes to more than the size limit.

    The payload itself is intact (it is archived as received); only its decoded form cannot be had.
    """


class DecodedTooLargeError(ContentDecodeError):
    """A payload decodes to more than the size limit given (its bytes are fine; there are too many)."""



class DuplicateNameError(StorageError, ValueError):
    """A name that must be unique is already taken."""


class InvalidUrlError(StorageError, ValueError):
    """A URL that cannot be parsed into a canonical key (the message names it)."""


class SearchQueryError(StorageError, ValueError):
    """A full-text search query that the index cannot run (the message says why)."""


class StoreError(StorageError, OSError):
    """The WARC store cannot be reached or refused a read or an upload, or an uploaded object is not
    byte for byte the local file (the message names the file and the store)."""


class NotFoundError(StorageError, LookupError):
    """Nothing stored matches what was asked for."""


class NoCaptureError(NotFoundError):
    """No capture matches the URL (and time) asked for."""


class NoReportError(NotFoundError):
    """No report has that name."""


class NoTokenError(NotFoundError):
    """No API token has that id."""
