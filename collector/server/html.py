"""Small HTML building blocks for the server-rendered pages. Every value goes through ``esc``; the only
markup that is not escaped is markup these functions build themselves."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from storage.search import HIT_END, HIT_START

__all__ = ["VERDICT_CLASSES", "a", "badge", "esc", "highlight", "layout", "qs", "stamp", "table"]

VERDICT_CLASSES = {"unchanged": "ok", "changed": "warn", "gone": "bad", "soft-404": "bad",
                   "blocked": "bad", "unreachable": "bad", "server-error": "bad", "captured": "ok",
                   "failed": "bad", "skipped": "muted", None: "muted"}


def esc(value: Any) -> str:
    """HTML-escape ``value`` (None is empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def qs(**params: Any) -> str:
    """A query string of the non-empty parameters (with the leading ``?``)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def a(href: str, text: Any, **attrs: str) -> str:
    """A link (``cls`` is the class attribute)."""
    names = {"cls": "class"}
    extra = "".join(f' {names.get(k, k.rstrip("_").replace("_", "-"))}="{esc(v)}"' for k, v in attrs.items())
    return f'<a href="{esc(href)}"{extra}>{esc(text)}</a>'


def stamp(moment: datetime | None) -> str:
    """A UTC time as shown on pages (seconds, with a ``Z``)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def badge(status: str | None, text: str | None = None) -> str:
    """A colored verdict or outcome label."""
    cls = VERDICT_CLASSES.get(status, "muted")
    label = esc(text or status or "-")
    return f'<span class="badge {cls}" data-verdict="{esc(status or "none")}">{label}</span>'


def highlight(snippet: str) -> str:
    """Escape a search snippet and turn its hit marks into ``<mark>``."""
    return esc(snippet).replace(HIT_START, "<mark>").replace(HIT_END, "</mark>")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "",
          row_attrs: Sequence[str] | None = None) -> str:
    """A table; cells are markup already (escape values with ``esc``)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        attrs = f" {row_attrs[i]}" if row_attrs else ""
        body.append(f"<tr{attrs}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return (f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            "</tbody></table>")


def layout(title: str, body: str, *, json_href: str | None = None, wide: bool = False) -> str:
    """A complete page with the site navigation, the stylesheet and the small script."""
    json_link = f' · <a href="{esc(json_href)}" class="json">JSON</a>' if json_href else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} · collector</title>"
        "<link rel='stylesheet' href='/static/app.css'><script src='/static/app.js' defer></script>"
        "</head><body>"
        "<header class='site'><a class='brand' href='/'>collector</a><nav>"
        "<a href='/reports'>Reports</a><a href='/search'>Search</a></nav>"
        "<form class='quick' action='/timeline' method='get'><input name='url' placeholder='URL to look up'"
        " aria-label='URL to look up'><button>Timeline</button></form></header>"
        f"<main class='{'wide' if wide else ''}'><h1>{esc(title)}</h1>{body}"
        f"<p class='foot'>Times are UTC{json_link}</p></main></body></html>"
    )
