"""Quotes tied to a marker: straight and curly, nested, over several sentences, spanning a marker."""

from __future__ import annotations

from collector.citations import parse_report
from collector.citations.quotes import quotes_for_marker


def _quotes(text: str, marker: str) -> list[str]:
    start = text.index(marker)
    return quotes_for_marker(text, start, start + len(marker))


def test_straight_and_curly_before_the_marker() -> None:
    assert _quotes('He said "the tide is late" [2] and left.', "[2]") == ["the tide is late"]
    assert _quotes('He said "the tide is late". [25]', "[25]") == ["the tide is late"]
    assert _quotes("She wrote “the jetty is closed” [6]", "[6]") == ["the jetty is closed"]
    assert _quotes("She wrote “the jetty is closed,”[6] and left.", "[6]") == ["the jetty is closed"]
    assert _quotes("Guillemets «le quai est fermé» (4) too.", "(4)") == ["le quai est fermé"]


def test_several_sentences_and_nested_quotations() -> None:
    text = "The memo: “Boats left at night. Nobody “officially” saw them. The log was ‘lost’.” [3]"
    assert _quotes(text, "[3]") == ["Boats left at night. Nobody “officially” saw them. The log was ‘lost’."]
    straight = 'The pilot said "they call it "the quiet run" here, and it is." [4]'
    assert _quotes(straight, "[4]") == ['they call it "the quiet run" here, and it is.']
    single_inside = "The clerk said “it’s ‘routine’, the boats’ papers are never checked” [5]"
    assert _quotes(single_inside, "[5]") == ["it’s ‘routine’, the boats’ papers are never checked"]


def test_quote_spanning_a_marker() -> None:
    text = "The report found “crossings doubled [7] and nobody was fined” [8]."
    assert _quotes(text, "[8]") == ["crossings doubled and nobody was fined"]
    assert _quotes(text, "[7]") == []
    inside = "The minister called it “a matter for the port authority.[9]” Nobody replied."
    assert _quotes(inside, "[9]") == ["a matter for the port authority."]


def test_quotes_joined_by_a_few_words_and_shared_by_markers() -> None:
    text = "He is called “the Keeper” and also “Old Tom”. [7]"
    assert _quotes(text, "[7]") == ["the Keeper", "Old Tom"]
    two = "They wrote “we saw nothing” [8] [9]"
    assert _quotes(two, "[9]") == ["we saw nothing"]


def test_no_quote_unless_tied() -> None:
    assert _quotes("The “Amazonian Trapezoid” is a region where trade meets. [1]", "[1]") == []
    assert _quotes("Its name, “Inkarri Islam, stands for a movement. [36]", "[36]") == []
    assert _quotes('Quotes "do not cross\nparagraphs" [2]', "[2]") == []


def test_quotes_of_a_marker_used_twice_are_all_kept() -> None:
    text = (
        "The harbour master said “no boat leaves unseen” [1]. Later he added “except at night” [1].\n"
        "[1] Interview with the harbour master, Delta Courier, 2 May 2024.\n"
    )
    report = parse_report(text.encode(), filename="twice.txt")
    assert report.citation("1").quotes == ("no boat leaves unseen", "except at night")
