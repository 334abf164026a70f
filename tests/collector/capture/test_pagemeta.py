"""``page_metadata`` finds the title and date that ``bare_extraction(with_metadata=True)`` finds.

collector extracts only the metadata it keeps (issue 18); these tests hold it to trafilatura's full
call on the demo site's pages, on pages written to reach each of trafilatura's sources (meta tags,
JSON-LD, the title element, a date only in the text, entities in the title), and, when
``../shared/corpora/trafilatura-eval`` is next to the repository, on 120 of its real pages.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import trafilatura
from lxml.html import tostring
from trafilatura.utils import load_html

from collector.capture.extraction import extract_html, normalize_text
from collector.capture.pagemeta import page_metadata

DEMO = Path(__file__).resolve().parents[3] / "collector" / "demo" / "site"
CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "trafilatura-eval"
SENTENCE = "The river fell to its lowest level in forty years this week. "
BODY = f"<article><p>{SENTENCE * 12}</p></article>"
PAGES = {
    "meta tags": f"""<html><head><title>Ignored &amp; plain</title>
        <meta property="og:title" content="River at its lowest &amp; falling">
        <meta property="article:published_time" content="2024-07-02T08:00:00Z"></head>
        <body>{BODY}</body></html>""",
    "json-ld": f"""<html><head><title>Site | page</title><script type="application/ld+json">
        {{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "From JSON-LD",
          "datePublished": "2023-03-04"}}</script></head><body>{BODY}</body></html>""",
    "title element": f"<html><head><title>Only a title</title></head><body><h1>H</h1>{BODY}</body></html>",
    "date in text": f"<html><head><title>T</title></head><body><p>Posted 12 May 2021</p>{BODY}</body></html>",
    "nothing": f"<html><body>{BODY}</body></html>",
    "long title": f"<html><head><title>{'word ' * 3000}</title></head><body>{BODY}</body></html>",
}


def _full(html: bytes, url: str | None) -> tuple[str, str | None, str | None]:
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, deduplicate=False)
    assert doc is not None
    return normalize_text(doc.text or ""), doc.title, doc.date


def _same_as_full(html: bytes, url: str | None) -> None:
    text, title, date = _full(html, url)
    result = extract_html(html, url)
    assert (result["text"], result["title"], result["published"]) == (text, title, date)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_source_of_title_and_date_gives_what_the_full_call_gives(name: str) -> None:
    _same_as_full(PAGES[name].encode(), "https://news.example/2024/river")


@pytest.mark.parametrize("page", sorted(DEMO.glob("*.html")), ids=lambda p: p.name)
def test_demo_pages_give_what_the_full_call_gives(page: Path) -> None:
    _same_as_full(page.read_bytes(), f"http://demo.example/{page.name}")


def test_the_tree_is_left_as_it_was() -> None:
    tree = load_html(PAGES["date in text"].encode())
    before = tostring(tree)
    found = page_metadata(tree, None)
    assert found["published"] == "2021-05-12"
    assert tostring(tree) == before


def test_real_pages_of_the_evaluation_corpus_give_what_the_full_call_gives() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (it is outside the repository)")
    truth = json.loads((CORPUS / "evaldata.json").read_text())
    entries = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines()]
    dated = [e for e in entries if truth[e["url"]].get("date")][:120]
    assert len(dated) == 120
    for entry in dated:
        html = gzip.decompress((CORPUS / entry["stored_as"]).read_bytes())
        url = entry["url"] if entry["url"].startswith("http") else None
        _same_as_full(html, url)


@pytest.mark.parametrize("html", [b"<html><head><title>T</title></head><body><div> </div></body></html>",
                                  b"", b"\x00\x01"], ids=["short", "nothing", "binary"])
def test_a_page_without_main_text_is_empty_where_the_full_call_finds_nothing(html: bytes) -> None:
    full = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                       include_tables=True, deduplicate=False)
    assert full is None
    result = extract_html(html, "https://news.example/short")
    assert (result["status"], result["text"], result["title"]) == ("empty", "", None)
