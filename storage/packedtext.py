"""Search texts stored compressed on SQLite (issue 18): the one database copy of an extracted text.

On SQLite, ``search_documents.text`` holds the text as a zlib stream (a BLOB) instead of the plain
string: the extracted texts were the largest part of the database (~6 KB of ~15 KB per page). The FTS5
index reads its content through the view ``search_texts``, which inflates the column with the SQL
function ``collector_inflate`` that every connection of ``storage.database`` registers, so ranking,
``snippet()`` and the index's own triggers work as before (migration 0022). A value stored as a plain
string (an archive written before it, or by another tool) reads back unchanged. PostgreSQL keeps the
plain text: its ``tsvector`` column is generated from it.
"""

from __future__ import annotations

import zlib
from typing import Any

__all__ = ["INFLATE", "deflate_text", "inflate_text", "register_text_functions"]

INFLATE = "collector_inflate"  # the SQL name of inflate_text
_LEVEL = 6  # zlib 9 saves ~0.5% more for ~60% more CPU


def deflate_text(text: str) -> bytes:
    """``text`` as the zlib stream the SQLite column stores."""
    return zlib.compress(text.encode("utf-8"), _LEVEL)


def inflate_text(value: bytes | str | None) -> str | None:
    """The text of a stored value: a zlib stream is inflated, a plain string (or None) kept."""
    if isinstance(value, bytes | bytearray | memoryview):
        return zlib.decompress(bytes(value)).decode("utf-8")
    return value


def register_text_functions(dbapi_conn: Any) -> None:
    """Make ``collector_inflate(value)`` callable in SQL on a sqlite3 connection."""
    dbapi_conn.create_function(INFLATE, 1, inflate_text, deterministic=True)
