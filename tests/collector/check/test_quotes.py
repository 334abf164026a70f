"""Tolerant quote matching: offsets in the original text, closest passage when missing."""

from __future__ import annotations

import pytest

from collector.check.quotes import find_quote, fold

TEXT = ("Según el comunicado, «los permisos   se redujeron\nen un tercio» — dijo el ministro. "
        "He said: \u201cWe are a mean for disseminating news\u201d. Another sentence follows here.")


@pytest.mark.parametrize("quote", [
    "los permisos se redujeron en un tercio",          # line break and spaces folded
    "LOS PERMISOS SE REDUJERON EN UN TERCIO",          # case
    "Segun el comunicado",                             # diacritics
    '"We are a mean for disseminating news"',          # straight vs curly quotes
    "tercio - dijo el ministro",                       # dashes
    "we are a mean for disseminating news.",           # trailing punctuation
])
def test_found_with_offset_in_original(quote: str) -> None:
    match = find_quote(quote, TEXT)
    assert match.found and match.similarity == 1.0
    assert match.offset is not None
    first = fold(quote)[0].strip(' ."')[:4]
    assert fold(TEXT[match.offset:])[0].startswith(first)


def test_missing_quote_reports_closest_passage() -> None:
    match = find_quote("We are a channel for disseminating news", TEXT)
    assert not match.found
    assert 0.6 < match.similarity < 1.0
    assert match.closest and "disseminating" in match.closest


def test_unrelated_and_empty() -> None:
    assert find_quote("zebra quantum harmonica", TEXT).similarity < 0.5
    assert not find_quote("", TEXT).found
    assert not find_quote("anything", "").found


def test_a_quote_typeset_as_in_the_text_is_found_without_folding() -> None:
    text = "Intro. The minister said: “we will not sign” — and left."
    assert find_quote("The minister said", text).offset == text.index("The minister")
    straight = find_quote('the minister said: "we will not sign" - and left', text)
    assert straight.found and straight.offset == text.index("The minister")
