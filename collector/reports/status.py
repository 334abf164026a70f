"""Per-citation status of a report: captures, quotes found in the archived text, archive links."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from typing import Any

from collector.check.quotes import QuoteMatch, find_quote
from collector.check.run import source_state
from collector.config import Config
from collector.reports.links import (
    LOCAL_BASE_URL,
    archive_link,
    archive_mark,
    choose_archived,
    resolve_base_url,
)
from collector.reports.versions import effective_citations
from storage import retrieve
from storage.archive import Archive
from storage.checks import checks_of
from storage.errors import StorageError
from storage.ledgerseal import capture_seals
from storage.queries import snapshots
from storage.records import CaptureRecord, CheckRecord
from storage.timefmt import iso_z

__all__ = ["HEALTH_FIELDS", "HEALTH_LABELS", "archive_link", "health_of", "quote_row", "render_html",
           "render_markdown", "report_health", "report_status"]

DEFAULT_BASE_URL = LOCAL_BASE_URL

# A report's health at a glance, in this order: how many citations have an archived snapshot, whose
# latest check says changed / gone / soft-404 / blocked, that still need a URL, and that cite a quote
# the latest check no longer found on the live page.
HEALTH_FIELDS = ("archived", "changed", "gone", "soft-404", "blocked", "needs_url", "quotes_not_live")
HEALTH_LABELS = {"citations": "citations", "archived": "archived", "changed": "changed", "gone": "gone",
                 "soft-404": "soft-404", "blocked": "blocked", "needs_url": "need a URL",
                 "quotes_not_live": "quotes no longer live"}
_HEALTH_VERDICTS = ("changed", "gone", "soft-404", "blocked")


def health_of(row: dict[str, Any]) -> list[str]:
    """The health figures (``HEALTH_FIELDS``) one ``report_status`` row counts in."""
    found = []
    if row.get("archive_capture"):
        found.append("archived")
    check = row.get("check") or {}
    if check.get("status") in _HEALTH_VERDICTS:
        found.append(check["status"])
    if row.get("needs_url"):
        found.append("needs_url")
    if any(q.get("live") is False for q in check.get("quotes") or ()):
        found.append("quotes_not_live")
    return found


def report_health(rows: list[dict[str, Any]]) -> dict[str, int]:
    """A report's health: how many of its ``report_status`` rows count in each of ``HEALTH_FIELDS``
    (plus ``citations``, the number of rows)."""
    counts = dict.fromkeys(HEALTH_FIELDS, 0)
    for row in rows:
        for field in health_of(row):
            counts[field] += 1
    return {"citations": len(rows), **counts}


def _capture_json(rec: CaptureRecord) -> dict[str, Any]:
    data = rec.to_json()
    keep = ("captured_at", "url", "outcome", "reason", "http_status", "final_url", "sha256",
            "text_sha256", "revisit_of")
    return {k: data[k] for k in keep}


def _describe(cite: Any) -> str:
    """The citation in one line for tables: its parts, cut at about 100 characters."""
    c = cite.citation
    parts = [", ".join(c.authors) if c.authors else None, c.title, c.publisher, c.date]
    text = "; ".join(p for p in parts if p) or c.raw or c.anchor_text or ""
    if not text and c.context:
        text = f"(no notes entry) {c.context}"
    return text if len(text) <= 100 else text[:97] + "..."


def _entry(cite: Any) -> str:
    """The citation's notes entry in full, as written (else its anchor text or context)."""
    c = cite.citation
    text = " ".join((c.raw or "").split())
    if text:
        return text
    parts = [", ".join(c.authors) if c.authors else None, c.title, c.publisher, c.date]
    text = "; ".join(p for p in parts if p) or c.anchor_text or ""
    if not text and c.context:
        text = f"(no notes entry) {' '.join(c.context.split())}"
    return text


def quote_row(quote: str, texts: Iterable[tuple[str | None, str]]) -> dict[str, Any]:
    """The status of a cited quote in the archived texts (``texts``: each capture's sha256 and text,
    oldest first, read only as far as needed): found in the first that holds it, else the closest
    passage of the most similar one; ``archived`` None when there is no text."""
    best: tuple[str | None, QuoteMatch] | None = None
    for sha256, text in texts:
        match = find_quote(quote, text)
        if best is None or match.similarity > best[1].similarity:
            best = (sha256, match)
        if match.found:
            break
    return {"text": quote,
            "archived": None if best is None else best[1].found,
            "similarity": None if best is None else best[1].similarity,
            "capture_sha256": None if best is None else best[0],
            "closest": None if best is None or best[1].found else best[1].closest}


def _texts(config: Config, captures: Iterable[CaptureRecord], cache: dict[int, str | None]
           ) -> Iterator[tuple[str | None, str]]:
    """(sha256, extracted text) of each of ``captures`` that has one, each read once (``cache``)."""
    for rec in captures:
        if rec.text_file is None:
            continue
        if rec.id not in cache:
            try:
                cache[rec.id] = retrieve.capture_text(config.warc_dir, rec).get("text")
            except StorageError:
                cache[rec.id] = None
        text = cache[rec.id]
        if text is not None:
            yield rec.sha256, text


def _check_json(check: CheckRecord) -> dict[str, Any]:
    """The latest check of a citation, as its status row gives it."""
    return {"status": check.status, "similarity": check.similarity, "checked_at": iso_z(check.checked_at),
            "http_status": check.http_status, "redirected": check.redirected, "quotes": list(check.quotes)}


def report_status(config: Config, name: str, *, base_url: str | None = None
                  ) -> list[dict[str, Any]]:
    """One dict per citation of the report's latest version (see the README for the fields).

    Archive links start with ``base_url``, else the ``public_base_url`` setting, else
    http://127.0.0.1:8080 (``collector.reports.links.resolve_base_url``); each links the capture
    ``collector.reports.links.choose_archived`` picks.
    """
    base_url, _ = resolve_base_url(config, base_url)
    archive = Archive.from_settings(config)
    rows = []
    latest_ids: list[int | None] = []
    texts: dict[int, str | None] = {}
    try:
        for cite in effective_citations(archive, name):
            captures: list[CaptureRecord] = []
            for url in cite.urls:
                captures += snapshots(archive.sessions, url)
            captures.sort(key=lambda r: r.captured_at)
            fetched = [r for r in captures if r.outcome == "captured"]
            quote_rows = [quote_row(quote, _texts(config, fetched, texts)) for quote in cite.quotes]
            checks = [c for url in cite.urls for c in checks_of(archive.sessions, url)]
            checks.sort(key=lambda c: c.checked_at)
            last_check = checks[-1] if checks else None
            chosen = choose_archived(
                captures, date_iso=cite.citation.date_iso,
                soft404={c.capture_id for c in checks if c.status == "soft-404" and c.capture_id})
            linked = chosen.capture
            rows.append({
                "ref": cite.citation.ref,
                "kind": cite.citation.kind,
                "source": _describe(cite),
                "entry": _entry(cite),
                "url": cite.urls[0] if cite.urls else None,
                "urls": list(cite.urls),
                "needs_url": cite.needs_url,
                "ibid_of": cite.citation.ibid_of,
                "captures": [_capture_json(r) for r in captures],
                "first_capture": _capture_json(captures[0]) if captures else None,
                "latest_capture": _capture_json(captures[-1]) if captures else None,
                "check": None if last_check is None else _check_json(last_check),
                "state": source_state(checks, min_checks=config.dead_after_checks,
                                      min_hours=config.dead_after_hours),
                "quotes": quote_rows,
                "notes": list(cite.notes),
                "archive_link": archive_link(base_url, linked.url, linked.captured_at)
                if linked else None,
                "archive_capture": _capture_json(linked) if linked else None,
                "archive_problem": chosen.problem,
            })
            rows[-1]["health"] = health_of(rows[-1])
            latest_ids.append(captures[-1].id if captures else None)
        # whether a signed ledger checkpoint covers each latest capture (storage.ledgerseal)
        seals = capture_seals(archive.sessions, [i for i in latest_ids if i is not None])
    finally:
        archive.close()
    for row, latest_id in zip(rows, latest_ids, strict=True):
        row["sealed"] = seals[latest_id].to_json() if latest_id is not None else None
    return rows


def _quote_mark(rows: list[dict[str, Any]]) -> str:
    marks = {True: "found", False: "NOT FOUND", None: "not checked"}
    return ", ".join(marks[q["archived"]] for q in rows) or "-"


def render_markdown(name: str, rows: list[dict[str, Any]]) -> str:
    """The status as a Markdown table."""
    out = [f"# Citation status: {name}", "",
           "| ref | kind | source | URL | first capture | latest capture | quotes | archive |",
           "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        first, latest = row["first_capture"], row["latest_capture"]

        def cap(c: dict[str, Any] | None) -> str:
            if not c:
                return "-"
            return f"{c['captured_at']} {c['outcome']} {c['http_status'] or ''}".strip()

        url = row["url"] or ("**needs a URL**" if row["needs_url"] else "-")
        mark = archive_mark(row)
        link = (f"[snapshot]({row['archive_link']})" if row["archive_link"]
                else f"**{mark}**" if mark else "-")
        source = row["source"].replace("|", "\\|")
        out.append(f"| {row['ref']} | {row['kind']} | {source} | {url} | {cap(first)} | "
                   f"{cap(latest)} | {_quote_mark(row['quotes'])} | {link} |")
    return "\n".join(out) + "\n"


def render_html(name: str, rows: list[dict[str, Any]]) -> str:
    """The status as a standalone HTML page (no scripts)."""
    esc = html.escape
    body = []
    for row in rows:
        latest = row["latest_capture"]
        mark = archive_mark(row)
        link = (f'<a href="{esc(row["archive_link"])}">snapshot</a>' if row["archive_link"]
                else f"<strong>{esc(mark)}</strong>" if mark else "-")
        url = (f'<a href="{esc(row["url"])}">{esc(row["url"])}</a>' if row["url"]
               else ("<strong>needs a URL</strong>" if row["needs_url"] else "-"))
        status = (f"{esc(latest['captured_at'])} {esc(latest['outcome'])} "
                  f"{latest['http_status'] or ''}" if latest else "-")
        body.append(f"<tr><td>{esc(row['ref'])}</td><td>{esc(row['kind'])}</td>"
                    f"<td>{esc(row['source'])}</td><td>{url}</td><td>{status}</td>"
                    f"<td>{esc(_quote_mark(row['quotes']))}</td><td>{link}</td></tr>")
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>Citation status: {esc(name)}</title></head><body>"
            f"<h1>Citation status: {esc(name)}</h1><table border='1'><tr><th>ref</th><th>kind</th>"
            "<th>source</th><th>URL</th><th>latest capture</th><th>quotes</th><th>archive</th></tr>"
            + "".join(body) + "</table></body></html>\n")
