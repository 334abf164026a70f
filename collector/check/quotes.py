"""Finding a cited quote in extracted text, tolerant to the ways the same words get typeset.

Whitespace and line breaks, case, straight or curly quotes, dashes, diacritics and ellipses are folded
before matching. The offset reported is in the original text. When the quote is not there, the closest
passage and its similarity (0..1) are reported instead.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["QuoteMatch", "find_quote", "fold"]

_QUOTES = set("\"'`´‘’‚‛“”„‟«»‹›「」『』")
_DASHES = set("‐‑‒–—―−")


def _fold_char(ch: str) -> str:
    if ch in _QUOTES:
        return ""
    if ch in _DASHES:
        return "-"
    if ch == "…":
        return "..."
    if ch.isspace():
        return " "
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_SEGMENT = re.compile(r"\s+|[\x21-\x7e]+(?: [\x21-\x7e]+)*|.", re.S)
_ASCII_QUOTES = re.compile("[\"'`]")


@functools.lru_cache(maxsize=32)
def fold(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index in ``text`` it came from.

    Plain ASCII runs (most of most texts) are folded in bulk; other characters one by one.
    """
    out: list[str] = []
    index: list[int] = []
    last_space = True
    for match in _SEGMENT.finditer(text):
        piece, start = match.group(), match.start()
        if piece[0].isspace():
            if not last_space:
                out.append(" ")
                index.append(start)
                last_space = True
        elif " " < piece[0] <= "~" and not _ASCII_QUOTES.search(piece):  # plain ASCII words
            out.append(piece.lower())
            index.extend(range(start, start + len(piece)))
            last_space = False
        else:
            for offset, char in enumerate(piece):
                for ch in _fold_char(char):
                    if ch == " ":
                        if last_space:
                            continue
                        last_space = True
                    else:
                        last_space = False
                    out.append(ch)
                    index.append(start + offset)
    joined = "".join(out)
    if joined.endswith(" "):
        joined = joined[:-1]
        index.pop()
    return joined, index


@dataclass(frozen=True)
class QuoteMatch:
    """Where a quote is in a text, or the closest passage when it is not there."""

    found: bool
    offset: int | None  # in the original text
    similarity: float  # 1.0 when found
    closest: str | None = None


@functools.lru_cache(maxsize=256)
def find_quote(quote: str, text: str) -> QuoteMatch:
    """Find ``quote`` in ``text`` (tolerant matching); see the module docstring.

    Results are cached: a check looks the same quote up in the same text (an unchanged page's
    baseline and current text) more than once.
    """
    needle, _ = fold(quote)
    needle = needle.strip(" .,;:")
    if not needle:
        return QuoteMatch(False, None, 0.0)
    exact = text.find(quote.strip(" .,;:"))
    if exact >= 0 and quote.strip(" .,;:"):  # typeset the same way: no need to fold the text
        return QuoteMatch(True, exact, 1.0)
    hay, index = fold(text)
    at = hay.find(needle)
    if at >= 0:
        return QuoteMatch(True, index[at], 1.0)
    if not hay:
        return QuoteMatch(False, None, 0.0)
    matcher = difflib.SequenceMatcher(None, hay, needle, autojunk=False)
    block = matcher.find_longest_match(0, len(hay), 0, len(needle))
    start = max(0, block.a - block.b)
    end = min(len(hay), start + len(needle))
    window = hay[start:end]
    ratio = difflib.SequenceMatcher(None, window, needle, autojunk=False).ratio()
    original = text[index[start]: index[end - 1] + 1] if end > start else None
    return QuoteMatch(False, index[start] if end > start else None, round(ratio, 3), original)
