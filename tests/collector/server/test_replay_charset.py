"""Replay decodes an archived page and stylesheet by the charset their Content-Type names, quoted or
not (RFC 9110 allows both): a KOI8-R page reads as Cyrillic, not as Windows-1252 (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.server.conftest import at
from tests.collector.server.helpers import archived, fetch, serving

STAMP = "20240501120000"
WORDS = "Уровень реки упал"
CHARSETS = ("koi8-r", '"koi8-r"', '"KOI8-R"')


@pytest.fixture
def koi8(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A page and a stylesheet in KOI8-R for each way of naming it, archived and served."""
    items = []
    for n, charset in enumerate(CHARSETS):
        base = f"https://koi8.example.org/{n}"
        for ext, media, body in (("html", "text/html", f"<html><body><p>{WORDS}</p></body></html>"),
                                 ("css", "text/css", f'p::after {{ content: "{WORDS}" }}')):
            items.append(archived(f"{base}.{ext}", at(STAMP), body.encode("koi8-r"),
                                  [("Content-Type", f"{media}; charset={charset}")]))
    with serving(db_url, tmp_path / "khome", items) as served:
        yield served


@pytest.mark.parametrize("n", range(len(CHARSETS)))
def test_the_page_and_its_stylesheet_read_in_their_charset(koi8: str, n: int) -> None:
    base = f"https://koi8.example.org/{n}"
    framed = fetch(f"{koi8}/web/{STAMP}if_/{base}.html")
    assert framed.status == 200
    assert WORDS in framed.body.decode("utf-8")
    css = fetch(f"{koi8}/web/{STAMP}cs_/{base}.css")
    assert css.status == 200
    assert WORDS in css.body.decode("utf-8")
