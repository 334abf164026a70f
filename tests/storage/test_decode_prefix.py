"""``decode_prefix``: a damaged or over-large encoded body gives what decodes, with the reason, within the
byte cap, and never raises."""

from __future__ import annotations

import gzip
import os
import zlib

import brotli
import pytest

from storage.retrieve import decode_prefix

PAGE = b"<html><body><p>FIRST-PART</p>" + b"".join(
    f"<p>{os.urandom(40).hex()}</p>".encode() for _ in range(3000)) + b"<p>LAST-PART</p></body></html>"


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress), ("br", lambda b: brotli.compress(b, quality=5)),
    ("deflate", zlib.compress), ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate too
])
def test_whole_bodies_decode_completely(coding: str, encode: object) -> None:
    assert callable(encode)
    assert decode_prefix(encode(PAGE), coding, 10 * len(PAGE)) == (PAGE, None)


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress), ("br", lambda b: brotli.compress(b, quality=5)), ("deflate", zlib.compress)])
def test_a_truncated_body_gives_its_decodable_start(coding: str, encode: object) -> None:
    assert callable(encode)
    data = encode(PAGE)
    body, problem = decode_prefix(data[: len(data) // 2], coding, 10 * len(PAGE))
    assert body.startswith(b"<html><body><p>FIRST-PART</p>") and PAGE.startswith(body)
    assert len(body) > len(PAGE) // 4 and b"LAST-PART" not in body
    assert problem and "truncated" in problem


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress), ("br", lambda b: brotli.compress(b, quality=5))])
def test_a_corrupt_body_gives_what_came_before_the_damage(coding: str, encode: object) -> None:
    assert callable(encode)
    data = bytearray(encode(PAGE))
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    body, problem = decode_prefix(bytes(data), coding, 10 * len(PAGE))
    assert PAGE.startswith(body[:1000]) and b"FIRST-PART" in body
    assert problem


def test_a_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=1)
    assert decode_prefix(bomb, "gzip", 1_000_000) == (b"\0" * 1_000_000, "longer than 1000000 bytes")
    bomb_br = brotli.compress(b"\0" * (20 * 1024 * 1024), quality=1)
    body, problem = decode_prefix(bomb_br, "br", 1_000_000)
    assert len(body) == 1_000_000 and problem == "longer than 1000000 bytes"


def test_several_gzip_members_and_unknown_codings() -> None:
    assert decode_prefix(gzip.compress(b"one ") + gzip.compress(b"two"), "gzip", 100) == (b"one two", None)
    assert decode_prefix(b"as sent", "x-weird", 100) == (b"as sent", "unknown content-encoding 'x-weird'")
    assert decode_prefix(b"plain", "identity", 100) == (b"plain", None)
    assert decode_prefix(b"not gzip at all", "gzip", 100)[1]
