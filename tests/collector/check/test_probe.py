"""probe_url: a random URL on the same host, shaped like the checked one."""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from collector.check.probe import probe_url
from collector.check.run import probe_urls
from collector.check.verdict import is_site_root


def shape(value: str) -> str:
    return re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", re.sub(r"[0-9]", "9", value)))


def test_last_path_segment_is_randomized_with_its_shape() -> None:
    url = "https://news.example.org/2023/05/water-rates-rise-42"
    probe = probe_url(url, random.Random(1))
    assert probe != url
    assert probe.startswith("https://news.example.org/2023/05/")
    segment = probe.rsplit("/", 1)[1]
    assert segment != "water-rates-rise-42"
    assert shape(segment) == shape("water-rates-rise-42")


def test_extension_and_trailing_slash_are_kept() -> None:
    probe = probe_url("https://www.example.com/reports/Annual_Report_2022.pdf", random.Random(2))
    assert probe.endswith(".pdf")
    assert shape(probe.rsplit("/", 1)[1]) == shape("Annual_Report_2022.pdf")
    probe = probe_url("https://example.com/news/story-name/", random.Random(2))
    assert re.fullmatch(r"https://example\.com/news/[a-z]{5}-[a-z]{4}/", probe)


def test_youtube_watch_v_gets_a_random_id_of_the_same_shape() -> None:
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s"
    probe = probe_url(url, random.Random(3))
    parts = urlsplit(probe)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.youtube.com", "/watch")
    query = parse_qs(parts.query)
    assert query["t"] == ["42s"]
    assert query["v"][0] != "dQw4w9WgXcQ"
    assert shape(query["v"][0]) == shape("dQw4w9WgXcQ")


@pytest.mark.parametrize(("url", "param"), [
    ("https://www.facebook.com/permalink.php?story_fbid=10159876543210987&id=100064123456789", "story_fbid"),
    ("https://www.example.com/index.php?option=com_content&view=article&id=123", "id"),
    ("https://blog.example.net/?p=4821", "p"),
])
def test_identifying_parameter_is_randomized_and_the_rest_kept(url: str, param: str) -> None:
    probe = probe_url(url, random.Random(4))
    before, after = parse_qs(urlsplit(url).query), parse_qs(urlsplit(probe).query)
    assert urlsplit(probe).path == urlsplit(url).path
    assert after[param] != before[param]
    assert shape(after[param][0]) == shape(before[param][0])
    assert {k: v for k, v in after.items() if k != param} == {k: v for k, v in before.items() if k != param}


def test_same_host_port_and_scheme_fragment_dropped() -> None:
    probe = probe_url("http://127.0.0.1:8081/a/b/page.html?x=1#comments", random.Random(5))
    parts = urlsplit(probe)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("http", "127.0.0.1:8081", "x=1", "")
    assert parts.path.startswith("/a/b/") and parts.path.endswith(".html")


def test_root_url_gets_a_random_segment() -> None:
    probe = probe_url("https://example.com/", random.Random(6))
    assert re.fullmatch(r"https://example\.com/[a-z]{12}", probe)


def test_non_ascii_slug_stays_a_valid_url() -> None:
    url = "https://www.aljazeera.net/news/2023/5/1/%D8%A7%D9%84%D9%85%D9%8A%D8%A7%D9%87"
    probe = probe_url(url, random.Random(7))
    assert probe.startswith("https://www.aljazeera.net/news/2023/5/1/")
    assert probe != url
    assert re.fullmatch(r"[a-z]{6}", probe.rsplit("/", 1)[1])


def test_deterministic_with_a_seeded_rng() -> None:
    url = "https://x.com/valleycourier/status/1655123456789012345"
    assert probe_url(url, random.Random(42)) == probe_url(url, random.Random(42))
    assert probe_url(url, random.Random(42)) != probe_url(url, random.Random(43))
    assert re.fullmatch(r"https://x\.com/valleycourier/status/\d{19}", probe_url(url, random.Random(42)))


def test_always_differs_from_the_original() -> None:
    rng = random.Random(8)
    for url in ("https://example.com/a/-", "https://example.com/7", "https://example.com/watch?v=a"):
        assert probe_url(url, rng) != url


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com", True), ("https://example.com/", True), ("https://example.com/index.html", True),
    ("https://example.com/en/", True), ("https://example.com/?utm_source=x", True),
    ("https://example.com/?p=1", False), ("https://example.com/news/story", False),
])
def test_is_site_root(url: str, expected: bool) -> None:
    assert is_site_root(url) is expected


@pytest.mark.parametrize("seed", range(40))
def test_a_probe_is_never_one_of_the_checked_urls(seed: int) -> None:
    """A one-letter last segment has 26 shapes: with /a and /b checked, a bare reshape is a checked URL
    about 1 draw in 13; with every letter checked, each shape is, and the probe goes below instead."""
    pair = ["https://example.org/a", "https://example.org/b"]
    probes = probe_urls(pair, random.Random(seed))
    assert probes["example.org"] not in pair
    every = [f"https://example.org/{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    probe = probe_urls(every, random.Random(seed))["example.org"]
    assert probe not in every
    assert re.fullmatch(r"https://example\.org/a/[a-z]{12}", probe)
