"""What "check" and "capture" a report (or one of its citations) fetch: shared by ``collector check
--report``, the web interface's "check now"/"capture now" and its JSON API."""

from __future__ import annotations

from typing import Any

from collector.check.run import CheckTarget
from collector.config import Config
from collector.errors import InputError
from collector.reports.versions import effective_citations, report_urls, resolve_ref
from storage.archive import Archive

__all__ = ["capture_targets", "check_targets"]


def check_targets(archive: Archive, name: str, *, ref: str | None = None) -> list[CheckTarget]:
    """One check target per URL of each citation of report ``name`` (only of ``ref`` when given), with
    the citation's quotes, ref and access date."""
    cites = effective_citations(archive, name)
    if ref is not None:
        found = resolve_ref(ref, {c.citation.ref for c in cites})
        if found is None:
            raise InputError(f"report {name!r} has no reference {ref!r}")
        cites = [c for c in cites if c.citation.ref == found]
    return [CheckTarget(url=url, quotes=cite.quotes, report=name, ref=cite.citation.ref,
                        access_date=cite.citation.date_iso)
            for cite in cites for url in cite.urls]


def capture_targets(config: Config, name: str, *, ref: str | None = None
                    ) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The URLs ``collector capture --report NAME`` fetches, with their contexts (only ``ref``'s when
    given)."""
    urls, contexts = report_urls(config, name)
    if ref is None:
        return urls, contexts
    archive = Archive.from_settings(config)
    try:
        wanted = {t.url for t in check_targets(archive, name, ref=ref)}
    finally:
        archive.close()
    return [u for u in urls if u in wanted], {u: c for u, c in contexts.items() if u in wanted}
