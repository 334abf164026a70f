"""A cited quote's status row (``collector.reports.status.quote_row``): the oldest archived text that
holds it, else the closest passage of the most similar text; later texts are not read once found."""

from __future__ import annotations

from collections.abc import Iterator

from collector.reports.status import quote_row

QUOTE = "the river fell to its lowest level in forty years"
HOLDS = f"Officials said on Monday that {QUOTE}, after a dry spring."
NEAR = "Officials said on Monday that the river fell to its lowest level in thirty years."


def test_the_first_text_that_holds_the_quote_is_named() -> None:
    row = quote_row(QUOTE, [("a", "A page about something else entirely."), ("b", HOLDS), ("c", HOLDS)])
    assert (row["text"], row["archived"], row["capture_sha256"], row["closest"]) == (QUOTE, True, "b", None)
    assert row["similarity"] == 1.0


def test_without_it_the_most_similar_text_gives_the_closest_passage() -> None:
    row = quote_row(QUOTE, [("a", "A page about something else entirely."), ("b", NEAR)])
    assert row["archived"] is False and row["capture_sha256"] == "b"
    assert row["closest"] and "thirty" in row["closest"]
    assert 0 < row["similarity"] < 1


def test_no_text_no_answer() -> None:
    assert quote_row(QUOTE, []) == {"text": QUOTE, "archived": None, "similarity": None,
                                    "capture_sha256": None, "closest": None}


def test_texts_after_the_one_that_holds_it_are_not_read() -> None:
    def texts() -> Iterator[tuple[str | None, str]]:
        yield "a", HOLDS
        raise AssertionError("read a text after the quote was found")

    assert quote_row(QUOTE, texts())["capture_sha256"] == "a"
