"""Canonical URL keys: every spelling of one URL shares a key, different URLs do not."""

from __future__ import annotations

import pytest

from storage.canonical import strip_tracking, url_key

BASE = "http://example.com/news/story"


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("https://example.com/news/story", id="https-vs-http"),
        pytest.param("http://www.example.com/news/story", id="www"),
        pytest.param("http://EXAMPLE.com/news/story", id="host-case"),
        pytest.param("http://Www.Example.COM/news/story", id="www-and-host-case"),
        pytest.param("http://example.com/news/story/", id="trailing-slash"),
        pytest.param("http://example.com/news/story#comments", id="fragment"),
        pytest.param("http://example.com:80/news/story", id="default-port-http"),
        pytest.param("https://example.com:443/news/story", id="default-port-https"),
        pytest.param("http://example.com/news/story?utm_source=x&utm_medium=y&utm_campaign=z",
                     id="utm"),
        pytest.param("http://example.com/news/story?UTM_Source=newsletter", id="utm-any-case"),
        pytest.param("http://example.com/news/story?fbclid=IwAR0abc", id="fbclid"),
        pytest.param("http://example.com/news/story?gclid=Cj0KCQ", id="gclid"),
        pytest.param("example.com/news/story", id="no-scheme"),
        pytest.param("  https://www.example.com:443/news/story/?utm_source=x&fbclid=y#top  ",
                     id="everything-at-once"),
    ],
)
def test_spellings_of_one_url_share_a_key(spelling: str) -> None:
    assert url_key(spelling) == url_key(BASE)


def test_key_is_scheme_less_surt() -> None:
    assert url_key("https://www.Example.com/a/b?x=1") == "com,example)/a/b?x=1"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        pytest.param("http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2",
                     id="query-order"),
        pytest.param("http://example.com/a?id=7&utm_source=x&gclid=g",
                     "https://www.example.com/a/?gclid=h&id=7#x", id="tracking-among-real-params"),
        pytest.param("http://example.com/", "http://example.com", id="root-path"),
    ],
)
def test_equal_keys(one: str, other: str) -> None:
    assert url_key(one) == url_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        pytest.param("http://example.com/a", "http://example.com/b", id="different-path"),
        pytest.param("http://example.com/news/1", "http://example.com/news/1/comments",
                     id="longer-path"),
        pytest.param("http://example.com/a?id=1", "http://example.com/a?id=2",
                     id="different-query-value"),
        pytest.param("http://example.com/a?id=1", "http://example.com/a", id="query-vs-none"),
        pytest.param("http://example.com/a?page=2", "http://example.com/a?p=2",
                     id="different-query-name"),
        pytest.param("http://example.com:8080/a", "http://example.com/a", id="port-8080"),
        pytest.param("https://example.com:8443/a", "https://example.com/a", id="port-8443"),
        pytest.param("http://example.com:443/a", "http://example.com/a",
                     id="443-is-not-default-for-http"),
        pytest.param("http://example.com/a", "http://example.org/a", id="different-domain"),
        pytest.param("http://news.example.com/a", "http://example.com/a", id="subdomain"),
    ],
)
def test_different_urls_have_different_keys(one: str, other: str) -> None:
    assert url_key(one) != url_key(other)


def test_strip_tracking_keeps_meaningful_parameters_in_order_and_drops_fragment() -> None:
    assert (strip_tracking("https://example.com/p?b=2&utm_source=x&a=1&fbclid=z#frag")
            == "https://example.com/p?b=2&a=1")


def test_strip_tracking_keeps_scheme_host_and_path() -> None:
    assert strip_tracking("https://www.Example.com:8443/P/Q/") == "https://www.Example.com:8443/P/Q/"


def test_strip_tracking_removes_an_only_tracking_query_entirely() -> None:
    assert strip_tracking("http://example.com/a?utm_source=x&gclid=y") == "http://example.com/a"
