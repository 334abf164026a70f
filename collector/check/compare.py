"""Comparing two main texts: similarity (moved sentences count whole) and a readable diff. Pure logic."""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from collections import Counter
from collections.abc import Sequence

from collector.capture.extraction import normalize_text

__all__ = ["DIFF_LINES", "text_diff", "text_similarity"]

DIFF_LINES = 200
_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+")


def _units(text: str) -> list[tuple[str, ...]]:
    """The text as sentences (lines split at sentence ends), each a tuple of words."""
    units = []
    for line in text.split("\n"):
        for sentence in _SENTENCE_END.split(line):
            words = tuple(sentence.split())
            if words:
                units.append(words)
    return units


@functools.lru_cache(maxsize=64)
def _sentences(text: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The normalized text's sentences and all its words (cached: a verdict compares the current
    text with the baseline and with the probe)."""
    units = tuple(_units(normalize_text(text)))
    return units, tuple(w for unit in units for w in unit)


def _rest(units: Sequence[tuple[str, ...]], common: Counter[tuple[str, ...]]) -> list[str]:
    """The words of the sentences not in ``common``, in order."""
    left = common.copy()
    words: list[str] = []
    for unit in units:
        if left[unit] > 0:
            left[unit] -= 1
        else:
            words.extend(unit)
    return words


def _word_matches(a: list[str], b: list[str]) -> int:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=len(a) * len(b) > 4_000_000)
    return sum(block.size for block in matcher.get_matching_blocks())


def text_similarity(a: str, b: str) -> float:
    """Main-text similarity 0..1: the share of words the two texts have in common (2M / (Na + Nb)).

    Sentences found in both texts count whole, wherever they are (a moved paragraph still says what it
    said); the words of the remaining sentences are matched in order (difflib), so a corrected sentence
    keeps most of its words. 1.0 exactly when both texts have the same words in the same order after
    ``normalize_text``; any other difference gives at most 0.9999. Fast on 100 KB texts: only the
    sentences that differ are compared word by word (with difflib's autojunk on very long stretches).
    """
    if a == b:
        return 1.0
    (units_a, words_a), (units_b, words_b) = _sentences(a), _sentences(b)
    if words_a == words_b:
        return 1.0
    if not words_a or not words_b:
        return 0.0
    common = Counter(units_a) & Counter(units_b)
    matched = sum(len(unit) * n for unit, n in common.items())
    matched += _word_matches(_rest(units_a, common), _rest(units_b, common))
    return min(round(2 * matched / (len(words_a) + len(words_b)), 4), 0.9999)


def _diff_lines(text: str) -> list[str]:
    lines: list[str] = []
    for line in normalize_text(text).split("\n"):
        lines.extend(_SENTENCE_END.split(line) if len(line) > 300 else [line])
    return lines


def text_diff(a: str, b: str, *, max_lines: int = DIFF_LINES) -> str:
    """Unified diff of two main texts (long lines split into sentences), capped at ``max_lines``."""
    diff = difflib.unified_diff(_diff_lines(a), _diff_lines(b), "baseline", "current", lineterm="")
    lines = list(itertools.islice(diff, max_lines + 1))
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... (diff cut at {max_lines} lines)"]
    return "\n".join(lines)
