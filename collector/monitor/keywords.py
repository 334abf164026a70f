"""Keyword matching for feed monitoring: case- and accent-insensitive whole words and phrases.

Pure functions. A keyword is a word or a phrase (``"Banco Central"``); it matches text that contains
its words in order, each a whole word, separated by any run of spaces or punctuation, ignoring case
and accents (``Sao Paulo`` matches ``SÃO PAULO``; ``bank`` does not match ``banking``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from collector.errors import InputError

__all__ = ["Keyword", "find_matches", "fold", "html_to_text", "parse_keywords"]

_TAGS = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Casefold and strip accents (NFKD, combining marks dropped); ``ß`` becomes ``ss``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment (tags removed, entities decoded), for matching."""
    return html.unescape(_TAGS.sub(" ", fragment or ""))


@dataclass(frozen=True)
class Keyword:
    """One keyword or phrase as the user wrote it."""

    text: str

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The regular expression over folded text: whole words in order, any separators between."""
        words = _WORD.findall(fold(self.text))
        if not words:
            raise InputError(f"keyword {self.text!r} has no letters or digits")
        body = r"[\W_]+".join(re.escape(w) for w in words)
        return re.compile(rf"(?<![^\W_]){body}(?![^\W_])")

    def found_in(self, folded_text: str) -> bool:
        """True when the keyword occurs in text already passed through ``fold``."""
        return self.pattern.search(folded_text) is not None


def parse_keywords(text: str | None = None, lines: Iterable[str] | None = None) -> tuple[Keyword, ...]:
    """Keywords from ``"a, b"`` (comma-separated) and/or lines of a file (one per line, ``#`` comments).

    Quotes around a phrase are dropped; duplicates (after folding) are kept once, first spelling wins.
    """
    raw: list[str] = []
    if text:
        raw += text.split(",")
    for line in lines or ():
        if line.strip() and not line.lstrip().startswith("#"):
            raw.append(line)
    out: dict[str, Keyword] = {}
    for item in raw:
        word = item.strip().strip("\"'").strip()
        if not word:
            continue
        keyword = Keyword(word)
        key = " ".join(_WORD.findall(fold(word)))
        if not key:
            raise InputError(f"keyword {word!r} has no letters or digits")
        out.setdefault(key, keyword)
    return tuple(out.values())


def find_matches(keywords: Iterable[Keyword], fields: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """Which keywords occur in which fields: ``[(keyword, field)]``, first matching field per keyword.

    ``fields`` maps a field name (``title``, ``summary``, ``content``, ``text``) to its plain text, in
    the order they should be tried.
    """
    folded = {name: fold(value) for name, value in fields.items() if value}
    found: list[tuple[str, str]] = []
    for keyword in keywords:
        for name, text in folded.items():
            if keyword.found_in(text):
                found.append((keyword.text, name))
                break
    return found
