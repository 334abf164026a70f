"""The stored form of a ledger entry (issue 18): a version-2 capture or text entry kept lean.

An entry's hash is over its canonical body (``storage.ledger.entry_body``: JSON with the key names,
the sequence number, kind and row id, the hex digests). Stored as such, a capture's entry was the
largest row of an unchanged recapture (~1.2 KB). The *packed* form keeps the same information in
about half the bytes, and ``unpack`` gives back the canonical body byte for byte, so hashes, the
Merkle tree, proofs and evidence packages are unchanged:

``[3, prev, value of each evidence field in the kind's order ..., pinned]``

- the sequence number, kind and row id are the entry's own columns, not repeated;
- no key names (the kind's field order is fixed);
- ``true`` for a value equal to the field it usually copies (``final_url`` the ``url``, the
  ``payload_*`` place the ``warc_*`` one) or, for the text kind's ``capture_id``, the row id;
- a sha256 in hex as 43 characters of unpadded base64url; a ``<urn:uuid:...>`` record id as its uuid;
- the pinned value last, as the canonical body has it (WARC digest labels kept: ``ledger verify``
  splices it into the body it makes from the row without parsing it).

``pack`` returns None when the packed form would not give the body back exactly (a value of an
unexpected type); the entry is stored as its canonical body then, as every entry before this form
(version 1 and 2 bodies, which begin with ``{``, are read as they are).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from storage import ledger  # which imports this module: only its attributes at call time are used

__all__ = ["PACKED", "is_packed", "pack", "row_entry", "unpack"]

PACKED = 3  # the first element of a packed entry
# a field whose value is usually another field's (``true`` stands for that value)
_SAME_AS = {"final_url": "url", "payload_file": "warc_file", "payload_offset": "warc_offset",
            "payload_length": "warc_length"}
_HEX_FIELDS = frozenset({"sha256", "text_sha256"})
_ID_FIELDS = frozenset({"warc_record_id"})
_PACKED_FIELDS = frozenset(_SAME_AS) | _HEX_FIELDS | _ID_FIELDS  # (and the kind's key)
_HEX = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"<urn:uuid:([0-9a-f-]{36})>")
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def is_packed(stored: str) -> bool:
    """True for a stored body in the packed form (a canonical body is a JSON object)."""
    return stored.startswith("[")


def _b64(raw: bytes) -> str:
    """``raw`` as unpadded base64url."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    """The bytes of a 43-character unpadded base64url digest; binascii.Error (a ValueError) for a
    character outside the alphabet (``urlsafe_b64decode`` would drop it silently)."""
    return base64.b64decode(text + "=", altchars=b"-_", validate=True)


def _pack_value(name: str, value: Any, fields: Mapping[str, Any], key: str, row_id: int) -> Any:
    same = _SAME_AS.get(name)
    if (same is not None and value is not None and type(value) is type(fields.get(same))
            and value == fields.get(same)) or (name == key and type(value) is int and value == row_id):
        return True
    if name in _HEX_FIELDS and isinstance(value, str) and _HEX.fullmatch(value):
        return _b64(bytes.fromhex(value))
    if name in _ID_FIELDS and isinstance(value, str):
        match = _UUID.fullmatch(value)
        return match.group(1) if match else value
    return value


def _unpack_value(name: str, value: Any, fields: Mapping[str, Any], key: str, row_id: int) -> Any:
    if value is True and (name in _SAME_AS or name == key):
        return row_id if name == key else fields.get(_SAME_AS[name])
    if name in _HEX_FIELDS and isinstance(value, str) and len(value) == 43:
        return _unb64(value).hex()
    if name in _ID_FIELDS and isinstance(value, str) and not value.startswith("<"):
        return f"<urn:uuid:{value}>"
    return value


def _packed_head(kind: ledger.Kind, fields: Mapping[str, Any], row_id: int, prev: str) -> str:
    """The packed form of an entry up to its pinned value: ``[3,prev,values...,``."""
    values: list[Any] = [PACKED, prev]
    for name in kind.fields:
        value = fields.get(name)
        values.append(_pack_value(name, value, fields, kind.key, row_id)
                      if name in _PACKED_FIELDS or name == kind.key else value)
    return _ENCODE.encode(values)[:-1] + ","


def pack(seq: int, kind: str, row_id: int, fields: Mapping[str, Any], prev: str, body: bytes
         ) -> str | None:
    """The packed form of the entry whose canonical body is ``body``; None when ``kind`` has no
    packed form, the entry pins nothing, or the packed form would not unpack to ``body``."""
    spec = ledger.KINDS.get(kind)
    if (spec is None or spec.pinned is None or spec.pinned not in fields
            or len(fields) != len(spec.fields) + 1):  # a field the kind does not have
        return None
    try:
        packed = _packed_head(spec, fields, row_id, prev) + ledger.canonical(
            fields[spec.pinned]).decode("utf-8") + "]"
        return packed if unpack(packed, seq, kind, row_id).encode("utf-8") == body else None
    except (TypeError, ValueError):
        return None


def row_entry(kind: ledger.Kind, seq: int, row_id: int, values: Sequence[Any], prev: str, stored: str
              ) -> str | None:
    """The canonical body of the packed entry ``stored`` when it is the packed form of the row whose
    raw column values (``Kind.raw_fields``) are ``values``, after the entry whose hash is ``prev``
    (``ledger verify``'s fast path: no JSON parsing); None otherwise."""
    if kind.pinned is None:
        return None
    fields = kind.raw_fields(values)
    head = _packed_head(kind, fields, row_id, prev)
    if not stored.startswith(head) or not stored.endswith("]"):
        return None
    return kind.pinned_body(seq, row_id, fields, prev, stored[len(head):-1])


def unpack(stored: str, seq: int, kind: str, row_id: int) -> str:
    """The canonical body of a stored entry (``seq``, ``kind``, ``row_id``: its columns): a packed
    entry unpacked, any other body as it is. ValueError naming the entry when a packed one is
    malformed (not JSON, not of the kind's length, a value that does not decode)."""
    if not is_packed(stored):
        return stored
    spec = ledger.KINDS.get(kind)
    try:
        values = json.loads(stored)
        if spec is None or spec.pinned is None:
            raise ValueError(f"{kind!r} entries have no packed form")
        if len(values) != len(spec.fields) + 3 or values[0] != PACKED or not isinstance(values[1], str):
            raise ValueError(f"not [{PACKED}, prev, {len(spec.fields)} values, pinned]")
        fields: dict[str, Any] = {}
        for name, value in zip(spec.fields, values[2:-1], strict=True):
            fields[name] = _unpack_value(name, value, fields, spec.key, row_id)
        fields[spec.pinned] = values[-1]
    except (TypeError, IndexError, ValueError) as exc:  # binascii.Error and JSON's are ValueErrors
        raise ValueError(f"malformed packed {kind} entry {seq} (row {row_id}): {exc}") from exc
    return ledger.entry_body(seq, kind, row_id, fields, values[1]).decode("utf-8")
