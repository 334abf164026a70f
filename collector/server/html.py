"""Small HTML building blocks for the server-rendered pages. Every value goes through ``esc``; the only
markup that is not escaped is markup these functions build themselves."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from storage.search import HIT_END, HIT_START

__all__ = ["POSITION_STEPS", "VERDICT_CLASSES", "VIEWER", "ViewerLike", "a", "badge", "capture_badge",
           "capture_class", "esc", "highlight", "layout", "position_classes", "qs", "seal_badge",
           "session_nav", "stamp", "table", "url_html"]

VERDICT_CLASSES = {"unchanged": "ok", "changed": "warn", "gone": "bad", "soft-404": "bad",
                   "blocked": "bad", "unreachable": "bad", "server-error": "bad", "captured": "ok",
                   "failed": "bad", "skipped": "muted", None: "muted"}


def esc(value: Any) -> str:
    """HTML-escape ``value`` (None is empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


_URL_BREAKS = re.compile(r"(?<=[/?&=#])(?=[^/])")


def url_html(url: str | None) -> str:
    """``url`` escaped, with a ``<wbr>`` (a line-break opportunity) after each ``/``, ``?``, ``&``, ``=`` and
    ``#``: a long URL wraps between its parts, not in the middle of a word (CSS ``overflow-wrap`` breaks
    a part longer than the line)."""
    return "<wbr>".join(esc(part) for part in _URL_BREAKS.split(url or ""))


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


def badge(status: str | None, text: str | None = None, *, cls: str | None = None) -> str:
    """A colored verdict or outcome label (``cls`` overrides the class the status maps to)."""
    cls = cls or VERDICT_CLASSES.get(status, "muted")
    label = esc(text or status or "-")
    return f'<span class="badge {cls}" data-verdict="{esc(status or "none")}">{label}</span>'


def capture_class(outcome: str | None, http_status: int | None) -> str:
    """The colour class of a capture: a fetched error page (4xx/5xx) is ``bad``, like a failed fetch."""
    if outcome == "captured" and http_status is not None and http_status >= 400:
        return "bad"
    return VERDICT_CLASSES.get(outcome, "muted")


def capture_badge(outcome: str | None, http_status: int | None, reason: str | None) -> str:
    """A capture's label: outcome and HTTP status (or the reason it failed), coloured by both."""
    text = f"{outcome} {http_status or reason or ''}".strip()
    return badge(outcome, text, cls=capture_class(outcome, http_status))


def seal_badge(seal: dict[str, Any] | None) -> str:
    """Whether a signed ledger checkpoint covers a capture (``storage.ledgerseal.Seal.to_json``):
    ``sealed #N`` with the checkpoint's time in its title, ``not sealed yet``, or ``no ledger entry``."""
    if seal is None:
        return "-"
    if seal["sealed"]:
        when = (seal["sealed_at"] or "")[:19].replace("T", " ") + "Z"
        return (f'<span class="badge ok seal" data-seal="sealed" data-checkpoint="{esc(seal["checkpoint"])}"'
                f' title="ledger entry {esc(seal["seq"])}, covered by signed checkpoint '
                f'{esc(seal["checkpoint"])} of {esc(when)}">sealed #{esc(seal["checkpoint"])}</span>')
    if seal["seq"] is None:
        return ('<span class="badge warn seal" data-seal="none" title="this capture has no ledger entry '
                '(recorded with the ledger off)">no ledger entry</span>')
    return (f'<span class="badge muted seal" data-seal="pending" title="ledger entry {esc(seal["seq"])}; '
            'no signed checkpoint covers it yet">not sealed yet</span>')


POSITION_STEPS = (("ph", 10.0), ("pt", 1.0), ("pu", 0.1))  # class prefix, percent per unit


def position_classes(percent: float) -> str:
    """Classes placing a mark at ``percent`` (0-100, to a tenth) of its box's width without an inline
    style (the pages' CSP forbids those): one class per decimal digit, each setting a CSS custom property
    that ``.pos`` adds up (see ``collector.server.assets``)."""
    tenths = round(min(100.0, max(0.0, percent)) * 10)
    digits = (tenths // 100, tenths // 10 % 10, tenths % 10)
    return " ".join(["pos"] + [f"{prefix}{d}" for (prefix, _), d in zip(POSITION_STEPS, digits, strict=True)
                               if d])


def highlight(snippet: str) -> str:
    """Escape a search snippet and turn its hit marks into ``<mark>``."""
    return esc(snippet).replace(HIT_START, "<mark>").replace(HIT_END, "</mark>")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "",
          row_attrs: Sequence[str] | None = None) -> str:
    """A table in a box that scrolls sideways when the table is wider than the screen (the page itself
    never does); cells are markup already (escape values with ``esc``)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    labels = [f' data-label="{esc(h)}"' if h else "" for h in headers]  # stacked rows on a phone show them
    body = []
    for i, row in enumerate(rows):
        attrs = f" {row_attrs[i]}" if row_attrs else ""
        body.append(f"<tr{attrs}>" + "".join(f"<td{labels[n] if n < len(labels) else ''}>{cell}</td>"
                                             for n, cell in enumerate(row)) + "</tr>")
    return (f'<div class="scroll"><table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>'
            f'{"".join(body)}</tbody></table></div>')


class ViewerLike(Protocol):
    """Who is logged in, as the header shows it (``collector.server.sessions.Viewer``)."""

    @property
    def name(self) -> str:
        """The token's name."""

    @property
    def csrf(self) -> str:
        """The session's CSRF token."""


def session_nav(viewer: ViewerLike | None) -> str:
    """The header's session part: a "Log in" link, or the token's name and a "Log out" button."""
    if viewer is None:
        return "<a class='login' href='/login'>Log in</a>"
    return (f"<form class='logout' method='post' action='/logout'><span class='who'>{esc(viewer.name)}</span>"
            f"<input type='hidden' name='csrf' value='{esc(viewer.csrf)}'><button>Log out</button></form>")


# Who is logged in, for the header of the page being rendered (set by ``context.respond`` around its
# renderer; False: not known, as on pages rendered outside it).
VIEWER: ContextVar[ViewerLike | bool | None] = ContextVar("collector_viewer", default=False)


def layout(title: str, body: str, *, json_href: str | None = None, wide: bool = False,
           viewer: ViewerLike | bool | None = False) -> str:
    """A complete page with the site navigation, the stylesheet and the small script; ``viewer`` (None
    or who is logged in; False: ``VIEWER``'s) adds the session part to the header."""
    json_link = f' · <a href="{esc(json_href)}" class="json">JSON</a>' if json_href else ""
    if viewer is False:
        viewer = VIEWER.get()
    session = "" if isinstance(viewer, bool) else session_nav(viewer)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} · collector</title>"
        "<link rel='icon' href='/static/icon.svg' type='image/svg+xml'>"
        "<link rel='stylesheet' href='/static/app.css'><script src='/static/app.js' defer></script>"
        "</head><body>"
        "<header class='site'><a class='brand' href='/'>collector</a><nav>"
        "<a href='/reports'>Reports</a><a href='/search'>Search</a><a href='/schedules'>Schedules</a>"
        f"</nav>{session}"
        "<form class='quick' action='/timeline' method='get'><input name='url' placeholder='URL to look up'"
        " aria-label='URL to look up'><button>Timeline</button></form></header>"
        f"<main class='{'wide' if wide else ''}'><h1>{esc(title)}</h1>{body}"
        f"<p class='foot'>Times are UTC{json_link}</p></main></body></html>"
    )
