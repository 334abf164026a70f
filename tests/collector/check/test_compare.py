"""text_similarity and text_diff on realistic and ~100 KB texts (no timing asserts)."""

from __future__ import annotations

import random
import time

from collector.check.compare import text_diff, text_similarity

from .texts import ARTICLE, CORRECTED, OTHER_ARTICLE


def long_text(seed: int, size: int = 100_000) -> str:
    """About ``size`` characters of prose-shaped text: Zipf-distributed words, sentences, paragraphs."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    parts: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(rng.choices(vocab, weights, k=rng.randint(8, 30))).capitalize() + "."
        parts.append(sentence + ("\n\n" if rng.random() < 0.2 else " "))
        length += len(parts[-1])
    return "".join(parts).strip()


def test_equal_after_normalization_is_one() -> None:
    assert text_similarity(ARTICLE, ARTICLE) == 1.0
    assert text_similarity("Per\u00fa  says\r\nhello", "Peru\u0301 says\nhello") == 1.0
    assert text_similarity("", "") == 1.0


def test_any_difference_is_below_one() -> None:
    assert text_similarity(ARTICLE, ARTICLE + " x") < 1.0
    assert text_similarity("Hello world.", "hello world.") < 1.0
    assert text_similarity("First. Second.", "Second. First.") < 1.0


def test_ranges() -> None:
    assert text_similarity(ARTICLE, CORRECTED) > 0.9
    assert text_similarity(ARTICLE, OTHER_ARTICLE) < 0.3
    assert text_similarity(ARTICLE, "") == 0.0


def test_moved_paragraph_keeps_a_high_similarity() -> None:
    paragraphs = ARTICLE.split("\n\n")
    moved = "\n\n".join([paragraphs[0], *paragraphs[2:], paragraphs[1]])
    assert 0.99 < text_similarity(ARTICLE, moved) < 1.0


def test_text_diff_is_unified() -> None:
    diff = text_diff(ARTICLE, CORRECTED)
    assert diff.startswith("--- baseline\n+++ current\n@@")
    assert text_diff(ARTICLE, ARTICLE) == ""


def test_100_kb_texts() -> None:
    a, b = long_text(1), long_text(2)
    sentences = a.split(". ")
    sentences[300] = "This sentence was corrected by the editors"
    corrected = ". ".join(sentences)
    timings = {}
    for name, other in (("one-sentence correction", corrected), ("different text", b)):
        start = time.perf_counter()
        ratio = text_similarity(a, other)
        timings[name] = (ratio, time.perf_counter() - start)
    assert timings["one-sentence correction"][0] > 0.99
    assert timings["different text"][0] < 0.1
    print({name: f"similarity {r:.4f} in {t * 1000:.0f} ms" for name, (r, t) in timings.items()})
