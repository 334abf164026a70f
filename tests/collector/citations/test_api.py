"""The package's public interface."""

from __future__ import annotations

import dataclasses

import collector.citations as citations
from collector.citations.model import Citation, ParsedReport


def test_public_names() -> None:
    assert sorted(citations.__all__) == ["Citation", "ParsedReport", "ReportParseError", "parse_report"]


def test_records_are_frozen_and_keyword_only() -> None:
    for record in (Citation, ParsedReport):
        assert all(f.kw_only for f in dataclasses.fields(record))
        assert getattr(record, "__dataclass_params__").frozen  # noqa: B009
    names = {f.name for f in dataclasses.fields(Citation)}
    assert names >= {"ref", "kind", "raw", "authors", "title", "publisher", "date", "date_iso", "pages",
                     "urls", "ibid_of", "anchor_text", "context", "quotes", "in_body", "has_entry",
                     "needs_url"}
