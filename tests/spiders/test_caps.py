"""Caps on what a hostile server can make the crawl hold: robots.txt size, response headers."""

from __future__ import annotations

from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from spiders.headercaps import HeadersTooLargeError
from spiders.outcomes import classify_exception
from spiders.robots import ROBOTS_MAX_BYTES, robots_head


def test_robots_txt_is_cut_at_500_kib_on_a_line_end() -> None:
    small = b"User-agent: *\nDisallow: /a\n"
    assert robots_head(small) == small
    big = small + b"Disallow: /filler/rule/number/0000\n" * 20_000  # ~700 KB
    head = robots_head(big)
    assert len(head) <= ROBOTS_MAX_BYTES < len(big)
    assert head.startswith(small) and head.endswith(b"\n")  # no half rule
    assert robots_head(b"x" * (ROBOTS_MAX_BYTES + 10)) == b"x" * ROBOTS_MAX_BYTES  # no line end at all


def test_headers_over_their_cap_are_too_large_however_wrapped() -> None:
    error = HeadersTooLargeError("more than 1000 response header lines (the cap): not read")
    wrapped = ResponseFailed([Failure(error)])  # as Twisted's client protocol fails the request
    for exc in (error, wrapped):
        reason, detail = classify_exception(exc)
        assert reason == "too-large"
        assert detail == "more than 1000 response header lines (the cap): not read"
