"""Values from the network made storable, in one place, before a row reaches the database.

A response can carry anything: a status line ``HTTP/1.1 100000000000000000000 X``, a Content-Type of
thousands of characters, a NUL byte in a header. The WARC keeps those bytes exactly as received;
the row that indexes them keeps a storable form, the same on SQLite and PostgreSQL:

- an integer out of its column's range (PostgreSQL's: 32 bits for ``Integer``, 64 for
  ``BigInteger``) is stored as NULL; an ``http_status`` of 3000000000 is no HTTP status;
- a NUL character in text becomes the four characters ``\\x00`` (PostgreSQL text cannot hold NUL);
- text longer than its ``String(n)`` column is cut to ``n`` characters (PostgreSQL refuses it;
  SQLite would keep it, and the two would differ).

Each change is said in the row's note column (the captures' ``reason_detail``), so a reader of the
row knows the value in the WARC is not the one in the row.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, FromClause, Integer, SmallInteger, String

__all__ = ["NUL_ESCAPE", "storable_row", "storable_value"]

NUL_ESCAPE = "\\x00"
# subclasses before Integer
_INT_BITS: tuple[tuple[type[Integer], int], ...] = ((SmallInteger, 16), (BigInteger, 64),
                                                     (Integer, 32))


def _int_limit(column_type: Any) -> int | None:
    """The largest value an integer column holds on every supported database (None: not one)."""
    for kind, bits in _INT_BITS:
        if isinstance(column_type, kind):
            return (1 << (bits - 1)) - 1
    return None


class _Column(NamedTuple):
    limit: int | None  # the largest integer it holds (an integer column)
    text: bool  # a String column
    length: int | None  # its length, if it has one


@functools.cache
def _columns(table: FromClause) -> dict[str, _Column]:
    """What ``storable_row`` checks of each column, worked out once per table (rows are many)."""
    return {column.name: _Column(_int_limit(column.type), isinstance(column.type, String),
                                 getattr(column.type, "length", None))
            for column in table.columns}


def storable_row(table: FromClause, row: dict[str, Any], *, note: str | None = None) -> dict[str, Any]:
    """``row`` (column name -> value, for ``table``) with every value storable, as the module says.

    ``note``: the text column that gets one sentence per value changed (appended to its value).
    """
    out = dict(row)
    notes: list[str] = []
    columns = _columns(table)
    for name, value in row.items():
        column = columns.get(name)
        if column is None:
            continue
        limit = column.limit
        if limit is not None and isinstance(value, int) and not isinstance(value, bool):
            if not -limit - 1 <= value <= limit:
                out[name] = None
                notes.append(f"{name} {value} is out of range and not stored "
                             "(the WARC has it as received)")
        elif column.text and isinstance(value, str):
            text = value
            if "\x00" in text:
                text = text.replace("\x00", NUL_ESCAPE)
                if name != note:
                    notes.append(f"NUL characters in {name} are stored as {NUL_ESCAPE}")
            length = column.length
            if length is not None and len(text) > length:
                text = text[:length]
                notes.append(f"{name} is cut to {length} of its {len(value)} characters "
                             "(the WARC has it whole)")
            out[name] = text
    if note is not None and notes:
        told = "; ".join(notes)
        out[note] = f"{out[note]}; {told}" if out.get(note) else told
    return out


def storable_value(table: FromClause, name: str, value: Any) -> Any:
    """The value ``storable_row`` stores for column ``name`` (a lookup of a stored row by a value
    from the network must use this form: a cut id matches its row, the whole one would not)."""
    return storable_row(table, {name: value})[name]
