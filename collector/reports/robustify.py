"""Robust Links: decorate a report's cited URLs with the archived snapshot they meant.

HTML reports get ``data-versionurl`` and ``data-versiondate`` on every cited link (the Robust Links
convention, https://robustlinks.mementoweb.org/spec/); every report also gets a plain notes list with
"archived on DATE: LINK" after each citation.
"""

from __future__ import annotations

from typing import Any

import lxml.html

__all__ = ["robust_html", "robust_notes"]


def robust_notes(rows: list[dict[str, Any]]) -> str:
    """A Markdown/plain-text notes list with the archived snapshot after each citation."""
    lines = []
    for row in rows:
        text = row["source"] or ""
        latest = next((c for c in reversed(row["captures"]) if c["outcome"] == "captured"), None)
        if row["url"] and latest and row["archive_link"]:
            date = latest["captured_at"][:10]
            lines.append(f"[{row['ref']}] {text} {row['url']} (archived on {date}: "
                         f"{row['archive_link']})".replace("  ", " "))
        elif row["url"]:
            lines.append(f"[{row['ref']}] {text} {row['url']} (not archived yet)".replace("  ", " "))
        elif row["needs_url"]:
            lines.append(f"[{row['ref']}] {text} (no URL known: attach one with "
                         "`collector report link`)".replace("  ", " "))
        else:
            lines.append(f"[{row['ref']}] {text}".rstrip())
    return "\n".join(lines) + "\n"


def robust_html(document: bytes, rows: list[dict[str, Any]]) -> str:
    """The HTML report with Robust Links attributes on every archived cited link."""
    versions: dict[str, tuple[str, str]] = {}
    for row in rows:
        latest = next((c for c in reversed(row["captures"]) if c["outcome"] == "captured"), None)
        if latest and row["archive_link"]:
            for url in row["urls"]:
                versions[url] = (row["archive_link"], latest["captured_at"][:10])
    tree = lxml.html.fromstring(document)
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href in versions:
            anchor.set("data-versionurl", versions[href][0])
            anchor.set("data-versiondate", versions[href][1])
    return str(lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>"))
