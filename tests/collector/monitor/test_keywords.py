"""Keyword matching: case- and accent-insensitive, whole words and phrases."""

from __future__ import annotations

import pytest

from collector.errors import InputError
from collector.monitor.keywords import Keyword, find_matches, fold, html_to_text, parse_keywords


@pytest.mark.parametrize(("keyword", "text"), [
    ("Sao Paulo", "Protests in SÃO PAULO today"),
    ("são paulo", "sao paulo council"),
    ("Banco Central", "the banco\n  central raised rates"),
    ("Jane Doe", "Jane-Doe said"),
    ("straße", "STRASSE closed"),
    ("EU", "(EU)"),
    ("Zürich", "zurich"),
    ("ACME Corp.", "acme corp announced"),
    ("café", "CAFÉ"),
])
def test_matches(keyword: str, text: str) -> None:
    assert Keyword(keyword).found_in(fold(text))


@pytest.mark.parametrize(("keyword", "text"), [
    ("bank", "banking news"),
    ("EU", "Europe"),
    ("Jane Doe", "Doe Jane"),
    ("Paulo", "Paulson"),
    ("ore", "more"),
])
def test_does_not_match_partial_words(keyword: str, text: str) -> None:
    assert not Keyword(keyword).found_in(fold(text))


def test_parse_keywords_from_text_and_file_lines() -> None:
    found = parse_keywords(' Acme, "Jane Doe" ,, acme , São Paulo',
                           ["# comment", "", "Banco Central", "SAO PAULO"])
    assert [k.text for k in found] == ["Acme", "Jane Doe", "São Paulo", "Banco Central"]


def test_keyword_without_letters_is_refused() -> None:
    with pytest.raises(InputError, match="---"):
        parse_keywords("ok, ---")


def test_find_matches_names_the_first_field() -> None:
    keywords = parse_keywords("acme, jane doe, nowhere")
    found = find_matches(keywords, {"title": "ACME wins", "summary": "Jane Doe and Acme",
                                    "text": None})
    assert found == [("acme", "title"), ("jane doe", "summary")]


def test_html_to_text() -> None:
    assert html_to_text("<p>Jane&nbsp;<b>Doe</b> &amp; co</p>").split() == ["Jane", "Doe", "&", "co"]
