"""The records a parsed report is made of: one ``Citation`` per reference, one ``ParsedReport`` per file."""

from __future__ import annotations

from dataclasses import dataclass

from storage.records import CitationData

__all__ = ["KINDS", "Citation", "ParsedReport"]

KINDS = ("web", "book", "ibid", "note", "social", "unknown")


@dataclass(frozen=True, kw_only=True)
class Citation(CitationData):
    """One reference of a report: a body marker, a notes entry, or an outbound link, merged by ``ref``.

    ``ref`` is the marker number as text (``"2"``), a Markdown footnote label (``"^src"``), or
    ``"link-N"`` for an outbound link that is not tied to a footnote. The fields are those that
    ``storage.reports`` stores (``CitationData``), plus where the parser found the citation.
    """

    where: str | None = None  # where the entry (else the first marker) is in the source: "line 92", "page 3"


@dataclass(frozen=True, kw_only=True)
class ParsedReport:
    """What a report cites: its body text, its citations and the distinct markers found in the body."""

    format: str
    title: str | None
    body: str
    citations: tuple[Citation, ...]
    markers: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def citation(self, ref: str) -> Citation:
        """The citation with this ``ref``; ``KeyError`` when there is none."""
        for cit in self.citations:
            if cit.ref == ref:
                return cit
        raise KeyError(ref)

    @property
    def needing_url(self) -> tuple[Citation, ...]:
        """Citations that still need a URL before they can be captured."""
        return tuple(c for c in self.citations if c.needs_url)
