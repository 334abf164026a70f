"""Robust Links: decorate a report's cited URLs with the archived snapshot they meant.

HTML reports get ``data-versionurl`` and ``data-versiondate`` on every cited link (the Robust Links
convention, https://robustlinks.mementoweb.org/spec/); every report also gets a plain notes list with
each entry in full and "archived on DATE: LINK" after it. The snapshot is the one ``report status``
links (``collector.reports.links.choose_archived``); a citation whose captures are all errors gets no
snapshot and says so (``problems`` lists them for the command to warn about).
"""

from __future__ import annotations

from typing import Any

import lxml.html

from collector.reports.links import archive_mark

__all__ = ["problems", "robust_html", "robust_notes"]


def problems(rows: list[dict[str, Any]]) -> list[str]:
    """One line per citation left without a snapshot for a reason (``[2] only error captures (HTTP
    404)``)."""
    return [f"[{row['ref']}] {mark}" for row in rows if (mark := archive_mark(row))]


def robust_notes(rows: list[dict[str, Any]]) -> str:
    """A Markdown/plain-text notes list: each entry in full, with the archived snapshot after it."""
    lines = []
    for row in rows:
        text = row.get("entry") or row["source"] or ""
        if row["url"] and row["url"] not in text:
            text = f"{text} {row['url']}".strip()
        linked = row.get("archive_capture")
        mark = archive_mark(row)
        if row["url"] and linked and row["archive_link"]:
            lines.append(f"[{row['ref']}] {text} (archived on {linked['captured_at'][:10]}: "
                         f"{row['archive_link']})")
        elif row["url"] and mark:
            lines.append(f"[{row['ref']}] {text} (NOT ARCHIVED: {mark})")
        elif row["url"]:
            lines.append(f"[{row['ref']}] {text} (not archived yet)")
        elif row["needs_url"]:
            lines.append(f"[{row['ref']}] {text} (no URL known: attach one with "
                         "`collector report link`)".replace("  ", " "))
        else:
            lines.append(f"[{row['ref']}] {text}".rstrip())
    return "\n".join(lines) + "\n"


def robust_html(document: bytes, rows: list[dict[str, Any]]) -> str:
    """The HTML report with Robust Links attributes on every archived cited link (and
    ``data-archive-problem`` on a cited link whose captures are all errors)."""
    versions: dict[str, tuple[str, str]] = {}
    troubled: dict[str, str] = {}
    for row in rows:
        linked = row.get("archive_capture")
        for url in row["urls"]:
            if linked and row["archive_link"]:
                versions[url] = (row["archive_link"], linked["captured_at"][:10])
            elif row.get("archive_problem"):
                troubled.setdefault(url, row["archive_problem"])
    tree = lxml.html.fromstring(document)
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href in versions:
            anchor.set("data-versionurl", versions[href][0])
            anchor.set("data-versiondate", versions[href][1])
        elif href in troubled:
            anchor.set("data-archive-problem", troubled[href])
    return str(lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>"))
