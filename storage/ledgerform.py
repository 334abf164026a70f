"""The stored form of a ledger entry (issue 18): a version-2 capture or text entry kept lean.

An entry's hash is over its canonical body (``storage.ledger.entry_body``: JSON with the key names,
the sequence number, kind and row id, the hex digests). Stored as such, a capture's entry was the
largest row of an unchanged recapture (~1.2 KB). The *packed* form keeps the same information in
about half the bytes, and ``unpack`` gives back the canonical body byte for byte, so hashes, the
Merkle tree, proofs and evidence packages are unchanged:

``[4, prev, value of each evidence field in the kind's order ..., pinned]``

- the sequence number, kind and row id are the entry's own columns, not repeated;
- no key names (the kind's field order is fixed);
- ``true`` for a value equal to the field it usually copies (``final_url`` the ``url``, the
  ``payload_*`` place the ``warc_*`` one) or, for the text kind's ``capture_id``, the row id;
- a sha256 in hex (the previous entry's hash too) as 43 characters of unpadded base64url; a
  ``<urn:uuid:...>`` record id as its 16 bytes in 22 characters of base64url;
- a time (``2026-01-02T03:04:05.123456Z``) as its microseconds since 1970 (an integer);
- in a capture's ``records`` ([type, offset, length, uuid, ...] each), ``true`` for an offset
  where the record before ended (the first record: ``warc_offset``) and for the first length equal
  to ``warc_length``, each uuid as its 16 bytes in base64url;
- the pinned value last: each WARC digest label ``sha256:<base32>`` in it as the digest's 43
  characters of base64url (any other value as it is).

Entries packed before times, record ids and pins were (version 3: ``[3, prev hex, ...]``, times and
pins as the canonical body has them, a record id as its uuid) unpack as before.

``pack`` returns None when the packed form would not give the body back exactly (a value of an
unexpected type); the entry is stored as its canonical body then, as every entry before this form
(version 1 and 2 bodies, which begin with ``{``, are read as they are).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import ledger  # which imports this module: only its attributes at call time are used
from storage.warcrecord import digest_label, label_digest

__all__ = ["PACKED", "is_packed", "pack", "row_entry", "unpack"]

PACKED = 4  # the first element of a packed entry (3: the first packed form, read as ever)
_V3 = 3
# a field whose value is usually another field's (``true`` stands for that value)
_SAME_AS = {"final_url": "url", "payload_file": "warc_file", "payload_offset": "warc_offset",
            "payload_length": "warc_length"}
_HEX_FIELDS = frozenset({"sha256", "text_sha256"})
_ID_FIELDS = frozenset({"warc_record_id"})
_RECORDS = "records"  # a capture's WARC records: their offsets and ids are packed (version 4)
_PACKED_FIELDS = frozenset(_SAME_AS) | _HEX_FIELDS | _ID_FIELDS  # (and the kind's key)
_HEX = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"<urn:uuid:([0-9a-f-]{36})>")
_BARE_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_LABEL = re.compile(r"sha256:([A-Z2-7]{52}====)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def is_packed(stored: str) -> bool:
    """True for a stored body in the packed form (a canonical body is a JSON object)."""
    return stored.startswith("[")


def _b64(raw: bytes) -> str:
    """``raw`` as unpadded base64url."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    """The bytes of an unpadded base64url text; binascii.Error (a ValueError) for a character
    outside the alphabet (``urlsafe_b64decode`` would drop it silently)."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _micros(value: str) -> int:
    """Microseconds since 1970 of an entry's time (``_TIME``)."""
    return (datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND


def _time(micros: int) -> str:
    return (_EPOCH + micros * _MICROSECOND).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _pack_value(name: str, value: Any, fields: Mapping[str, Any], kind: ledger.Kind, row_id: int
                ) -> Any:
    same = _SAME_AS.get(name)
    if (same is not None and value is not None and type(value) is type(fields.get(same))
            and value == fields.get(same)) or (name == kind.key and type(value) is int
                                               and value == row_id):
        return True
    if name == _RECORDS and isinstance(value, list):
        return _records(value, fields, packing=True)
    if not isinstance(value, str):
        return value
    if name in _HEX_FIELDS and _HEX.fullmatch(value):
        return _b64(bytes.fromhex(value))
    if name in _ID_FIELDS:
        match = _UUID.fullmatch(value)
        return _b64(uuid.UUID(match.group(1)).bytes) if match else value
    if name in kind.times and _TIME.fullmatch(value):
        return _micros(value)
    return value


def _unpack_value(name: str, value: Any, fields: Mapping[str, Any], kind: ledger.Kind, row_id: int,
                  version: int) -> Any:
    if value is True and (name in _SAME_AS or name == kind.key):
        return row_id if name == kind.key else fields.get(_SAME_AS[name])
    if name in _HEX_FIELDS and isinstance(value, str) and len(value) == 43:
        return _unb64(value).hex()
    if name in _ID_FIELDS and isinstance(value, str) and not value.startswith("<"):
        if version == _V3:
            return f"<urn:uuid:{value}>"
        return f"<urn:uuid:{uuid.UUID(bytes=_unb64(value))}>" if len(value) == 22 else value
    if version != _V3 and name in kind.times and type(value) is int:
        return _time(value)
    if version != _V3 and name == _RECORDS and isinstance(value, list):
        return _records(value, fields, packing=False)
    return value


def _records(records: list[Any], fields: Mapping[str, Any], packing: bool) -> list[Any]:
    """A capture's ``records`` ([type, offset, length, uuid, ...] each) packed (``packing``) or
    unpacked: ``true`` for each offset that follows on from the record before (the first:
    ``warc_offset``) and for the first length when it is ``warc_length``; each uuid as its 16
    bytes in base64url. Any other item is kept as it is."""
    out: list[Any] = []
    follows, length = fields.get("warc_offset"), fields.get("warc_length")
    for record in records:
        if not (isinstance(record, list) and len(record) >= 4):
            out.append(record)
            follows = length = None
            continue
        offset, size, rid = record[1], record[2], record[3]
        if packing:
            item = [record[0], True if type(offset) is int and offset == follows else offset,
                    True if type(size) is int and size == length else size,
                    _b64(uuid.UUID(rid).bytes) if isinstance(rid, str) and _BARE_UUID.fullmatch(rid)
                    else rid]
        else:
            offset = follows if offset is True else offset
            size = length if size is True else size
            item = [record[0], offset, size,
                    str(uuid.UUID(bytes=_unb64(rid))) if isinstance(rid, str) and len(rid) == 22
                    else rid]
        out.append([*item, *record[4:]])
        follows = offset + size if type(offset) is int and type(size) is int else None
        length = None
    return out


def _pack_pinned(value: Any) -> Any:
    """The packed form of a pinned value: its ``sha256:<base32>`` labels as base64url."""
    if isinstance(value, list):
        return [_pack_pinned(item) for item in value]
    match = _LABEL.fullmatch(value) if isinstance(value, str) else None
    return _b64(label_digest(match.group(1))) if match else value


def _unpack_pinned(value: Any) -> Any:
    if isinstance(value, list):
        return [_unpack_pinned(item) for item in value]
    if isinstance(value, str) and len(value) == 43 and ":" not in value:
        return digest_label(_unb64(value))
    return value


def _packed_head(kind: ledger.Kind, fields: Mapping[str, Any], row_id: int, prev: str,
                 version: int = PACKED) -> str:
    """The packed form (``version``) of an entry up to its pinned value: ``[4,prev,values...,``."""
    if version == _V3:
        values: list[Any] = [_V3, prev]
        for name in kind.fields:
            value = fields.get(name)
            values.append(_pack_v3(name, value, fields, kind, row_id)
                          if name in _PACKED_FIELDS or name == kind.key else value)
    else:
        values = [PACKED, _b64(bytes.fromhex(prev)) if _HEX.fullmatch(prev) else prev]
        values += [_pack_value(name, fields.get(name), fields, kind, row_id) for name in kind.fields]
    return _ENCODE.encode(values)[:-1] + ","


def _pack_v3(name: str, value: Any, fields: Mapping[str, Any], kind: ledger.Kind, row_id: int) -> Any:
    """A value as the first packed form (version 3) held it: times as they are, a record id as its uuid."""
    if name in _ID_FIELDS and isinstance(value, str):
        match = _UUID.fullmatch(value)
        return match.group(1) if match else value
    if name in kind.times or name == _RECORDS:
        return value
    return _pack_value(name, value, fields, kind, row_id)


def pack(seq: int, kind: str, row_id: int, fields: Mapping[str, Any], prev: str, body: bytes
         ) -> str | None:
    """The packed form of the entry whose canonical body is ``body``; None when ``kind`` has no
    packed form, the entry pins nothing, or the packed form would not unpack to ``body``."""
    spec = ledger.KINDS.get(kind)
    if (spec is None or spec.pinned is None or spec.pinned not in fields
            or len(fields) != len(spec.fields) + 1):  # a field the kind does not have
        return None
    try:
        packed = _packed_head(spec, fields, row_id, prev) + _ENCODE.encode(
            _pack_pinned(fields[spec.pinned])) + "]"
        return packed if unpack(packed, seq, kind, row_id).encode("utf-8") == body else None
    except (TypeError, ValueError):  # binascii.Error is a ValueError
        return None


def _version(stored: str) -> int:
    return _V3 if stored.startswith("[3,") else PACKED


def row_entry(kind: ledger.Kind, seq: int, row_id: int, values: Sequence[Any], prev: str, stored: str
              ) -> str | None:
    """The canonical body of the packed entry ``stored`` when it is the packed form of the row whose
    raw column values (``Kind.raw_fields``) are ``values``, after the entry whose hash is ``prev``
    (``ledger verify``'s fast path: the head compared as text, only the pinned value parsed); None
    otherwise."""
    if kind.pinned is None:
        return None
    fields = kind.raw_fields(values)
    version = _version(stored)
    head = _packed_head(kind, fields, row_id, prev, version)
    if not stored.startswith(head) or not stored.endswith("]"):
        return None
    pinned = stored[len(head):-1]
    if version != _V3:
        try:
            pinned = ledger.canonical(_unpack_pinned(json.loads(pinned))).decode("utf-8")
        except ValueError:  # binascii.Error and JSON's too
            return None
    return kind.pinned_body(seq, row_id, fields, prev, pinned)


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
        if len(values) != len(spec.fields) + 3 or (
                values[0] not in (_V3, PACKED) or not isinstance(values[1], str)):
            raise ValueError(f"not [{_V3} or {PACKED}, prev, {len(spec.fields)} values, pinned]")
        version, prev = values[0], values[1]
        if version != _V3 and len(prev) == 43:
            prev = _unb64(prev).hex()
        fields: dict[str, Any] = {}
        for name, value in zip(spec.fields, values[2:-1], strict=True):
            fields[name] = _unpack_value(name, value, fields, spec, row_id, version)
        fields[spec.pinned] = values[-1] if version == _V3 else _unpack_pinned(values[-1])
    except (TypeError, IndexError, ValueError) as exc:  # binascii.Error and JSON's are ValueErrors
        raise ValueError(f"malformed packed {kind} entry {seq} (row {row_id}): {exc}") from exc
    return ledger.entry_body(seq, kind, row_id, fields, prev).decode("utf-8")
