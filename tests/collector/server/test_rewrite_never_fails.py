"""Replay never fails a page: an attribute lxml refuses to look up (``{count}="1"``: "Empty tag name",
a real forum page) is dropped and the page is rewritten; a page the rewriter cannot handle at all is
shown inert (its escaped source under a notice); every page of the trafilatura evaluation corpus
replays with 200 and without a script (slow)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest

from collector.server.rewrite import inert_page, rewrite_html
from tests.collector.server.conftest import at
from tests.collector.server.helpers import archived, fetch, serving

STAMP = "20240501120000"
# what the forum page of the corpus (wolfsrebellen-netz.forumieren.com) has: a template placeholder
# left as an attribute name, which lxml reads as a namespaced name with an empty local part
ODD_ATTRIBUTE = (b'<html><head><title>Regeln</title><script>alert(1)</script></head><body>'
                 b'<p>Forum rules <a {count}="1" href="/topic" onclick="alert(2)">topic</a> end</p>'
                 b'</body></html>')
CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora" / "trafilatura-eval"
HEADERS = [("Content-Type", "text/html")]


def _mapper(target: str, kind: str) -> str:
    return f"/web/{STAMP}/{target}"


@pytest.fixture
def odd_page(db_url: str, tmp_path: Path) -> Iterator[str]:
    url = "https://forum.example.org/regeln"
    with serving(db_url, tmp_path / "home", [archived(url, at(STAMP), ODD_ATTRIBUTE, HEADERS)]) as base:
        yield base


def test_a_page_with_an_attribute_lxml_refuses_is_replayed(odd_page: str) -> None:
    reply = fetch(f"{odd_page}/web/{STAMP}if_/https://forum.example.org/regeln")
    assert reply.status == 200, reply.text[:300]
    assert b"<script" not in reply.body.lower() and b"onclick" not in reply.body
    doc = lxml.html.document_fromstring(reply.body)
    assert "Forum rules topic end" in doc.text_content()
    [link] = doc.xpath("//a")
    assert link.get("href").endswith(f"{STAMP}/https://forum.example.org/topic")
    assert not doc.xpath("//p[@class='archive-notice']")  # rewritten, not the inert fallback


def test_a_page_the_rewriter_cannot_handle_is_shown_inert() -> None:
    def broken(target: str, kind: str) -> str:
        raise ValueError("mapper broke")

    out = rewrite_html(ODD_ATTRIBUTE.decode(), base="https://forum.example.org/", mapper=broken,
                       notice="shown in part")
    assert b"<script" not in out.lower()
    doc = lxml.html.document_fromstring(out)
    notes = [p.text_content() for p in doc.xpath("//p[@class='archive-notice']")]
    assert notes[0] == "shown in part"
    assert "could not be rewritten for replay (ValueError: mapper broke)" in notes[1]
    assert "<script>alert(1)</script>" in doc.xpath("//pre")[0].text_content()  # as text


def test_the_inert_page_escapes_everything() -> None:
    out = inert_page('<script>x</script><img src=x onerror=y></pre><script>', reason="<b>r</b>")
    assert b"<script" not in out.lower() and b"<img" not in out and b"<b>" not in out


def _corpus() -> dict[str, bytes]:
    pages = {}
    for line in (CORPUS / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        pages[f"https://corpus.example.org/{quote(entry['file'])}"] = gzip.decompress(
            (CORPUS / entry["stored_as"]).read_bytes())
    return pages


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    if not (CORPUS / "manifest.jsonl").is_file():
        pytest.skip(f"the trafilatura evaluation corpus is not here ({CORPUS.resolve()}): "
                    "../shared/corpora/trafilatura-eval is absent")
    pages = _corpus()
    db = f"sqlite:///{tmp_path / 'corpus.db'}"
    items = [archived(url, at(STAMP), body, HEADERS) for url, body in pages.items()]
    with serving(db, tmp_path / "home", items) as base:
        yield base, pages


@pytest.mark.slow
def test_every_page_of_the_evaluation_corpus_replays(corpus: tuple[str, dict[str, bytes]]) -> None:
    base, pages = corpus
    assert len(pages) == 990
    failures = []
    for url in pages:
        reply = fetch(f"{base}/web/{STAMP}if_/{url}")
        if reply.status != 200 or b"<script" in reply.body.lower():
            failures.append((url, reply.status, reply.text[:200]))
        elif b"could not be rewritten for replay" in reply.body:
            failures.append((url, "inert fallback", reply.text[:400]))
    assert not failures, failures[:5]
