"""The feed spider: conditional GET headers on the capture request."""

from __future__ import annotations

from spiders.capture import TARGET_KEY
from spiders.feed import FEED_ACCEPT, FeedSpider, conditional_headers
from spiders.recording import HOPS_KEY


def test_conditional_headers() -> None:
    assert conditional_headers(None) == {}
    assert conditional_headers({"etag": None, "last_modified": ""}) == {}
    assert conditional_headers({"etag": '"abc"', "last_modified": "Tue, 01 Jun 2027 00:00:00 GMT"}) == {
        "If-None-Match": '"abc"', "If-Modified-Since": "Tue, 01 Jun 2027 00:00:00 GMT"}


def test_request_carries_validators_and_capture_meta() -> None:
    target = {"url": "https://news.example/rss", "context": {
        "feed": "news", "validators": {"etag": 'W/"v1"', "last_modified": None}}}
    request = FeedSpider(targets=[target]).request_for(target)
    assert request.headers.get("If-None-Match") == b'W/"v1"'
    assert request.headers.get("If-Modified-Since") is None
    assert request.headers.get("Accept") == FEED_ACCEPT.encode()
    assert request.meta[TARGET_KEY] is target and request.meta[HOPS_KEY] == []
    assert request.dont_filter


def test_first_poll_is_unconditional() -> None:
    target = {"url": "https://news.example/rss", "context": {"feed": "news"}}
    request = FeedSpider(targets=[target]).request_for(target)
    assert b"If-None-Match" not in request.headers and b"If-Modified-Since" not in request.headers
