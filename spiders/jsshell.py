"""Is an HTTP capture a JavaScript shell? (``browser = "auto"`` re-captures those with the browser.)

A page fetched over plain HTTP that shows its reader nothing until scripts run is a *shell*: the
evidence is not in it. :func:`js_shell_signal` names the first sign of one it finds, or None:

- ``noscript``: a ``<noscript>`` that asks for JavaScript ("enable JavaScript", "requires
  JavaScript", "JavaScript is disabled" ...), with little text outside it;
- ``empty app root``: an application mount point (``<div id="root">``, ``#app``, ``#__next``,
  ``#__nuxt``, ``#react-root``, ``#ember-app`` ...) with nothing in it, and little text besides;
- ``script-heavy``: a large document (>= 20 KB) made mostly of scripts (>= 50% of its bytes) whose
  visible text is small (< 400 characters).

Pure functions over bytes and text: the spider calls them on each HTML response; tests call them on
real pages. :func:`visible_text` is the cheap text used when no extracted text is at hand.
"""

from __future__ import annotations

import re

__all__ = ["JS_SHELL", "is_js_shell_reason", "js_shell_reason", "js_shell_signal", "visible_length",
           "visible_text"]

JS_SHELL = "js-shell"  # the mode_reason of a browser re-capture starts so: "js-shell: <signal>"
LITTLE_TEXT = 400  # characters of visible text under which a page "shows little"
LARGE_DOCUMENT = 20_000  # bytes
SCRIPT_SHARE = 0.5  # of the document's bytes in <script> elements

_SCRIPT = re.compile(rb"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_STYLE = re.compile(rb"<style\b[^>]*>.*?</style\s*>", re.I | re.S)
_NOSCRIPT = re.compile(rb"<noscript\b[^>]*>(.*?)</noscript\s*>", re.I | re.S)
_TAG = re.compile(rb"<[^>]*>", re.S)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_ASKS_FOR_JS = re.compile(
    r"(enable|turn on|activate|allow)\s+javascript|javascript\s+(is\s+)?(required|disabled|"
    r"must be enabled|needs to be enabled|is not enabled|is turned off)|requires?\s+javascript|"
    r"need(s)?\s+(to\s+)?(enable\s+)?javascript|without\s+javascript|"
    r"javascript\s+(aktivieren|activ)|activez\s+javascript|habilita\s+javascript", re.I)
_APP_ROOT = re.compile(
    rb"<(div|main|section|body|app-root)\b[^>]*\bid\s*=\s*[\"']?(root|app|__next|__nuxt|react-root|"
    rb"ember-app|application|main-app|svelte|q-app|mount|app-root|appmount)[\"'\s>][^>]*>\s*"
    rb"(<!--.*?-->\s*)*</\1\s*>", re.I | re.S)
_APP_ROOT_TAG = re.compile(rb"<app-root\b[^>]*>\s*</app-root\s*>", re.I)
# what a reader does not see, in one pass: comments, script/style/noscript elements, other tags
_HIDDEN = re.compile(rb"<!--.*?-->|<(script|style|noscript)\b[^>]*>.*?</\1\s*>|<[^>]*>", re.I | re.S)


def visible_text(html: bytes) -> str:
    """The text a reader would see of ``html`` without scripts, styles and noscript (whitespace
    collapsed): a cheap stand-in for the extracted main text."""
    body = _COMMENT.sub(b" ", html)
    body = _SCRIPT.sub(b" ", body)
    body = _STYLE.sub(b" ", body)
    body = _NOSCRIPT.sub(b" ", body)
    body = _TAG.sub(b" ", body)
    return _collapse(_unescape(body.decode("utf-8", "replace")))


def visible_length(html: bytes, enough: int) -> int:
    """The length of ``visible_text(html)``, or a number of at least ``enough`` once that much is
    found (the rest of the document is not read).

    One left-to-right pass instead of one pass per kind of markup, stopping early: on the 990 pages
    of the trafilatura-eval corpus it gives the same length, capped at 1,600, as ``visible_text`` at
    0.4x its CPU. (A comment inside a script, or a script inside a comment, is cut where a browser
    cuts it; ``visible_text`` removes all comments first.)
    """
    total, pos = -1, 0  # the joining spaces: one fewer than the words
    for match in _HIDDEN.finditer(html):
        start = match.start()
        if start > pos:
            piece = html[pos:start]
            if not piece.isspace():  # most text between tags is line breaks and indentation
                total += _words_length(piece)
                if total >= enough:
                    return total
        pos = match.end()
    if pos < len(html):
        total += _words_length(html[pos:])
    return max(total, 0)


def _words_length(piece: bytes) -> int:
    """The characters of ``piece``'s words (after unescaping) plus one separator each."""
    words = _unescape(piece.decode("utf-8", "replace")).split()
    return sum(map(len, words)) + len(words)


def _collapse(text: str) -> str:
    """``text`` with each run of whitespace made one space, stripped: what ``\\s+`` -> " " and
    ``strip()`` give (the same Unicode whitespace), several times faster than the regular expression."""
    return " ".join(text.split())


def _unescape(text: str) -> str:
    return text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def js_shell_signal(html: bytes | str, text: str | None = None) -> str | None:
    """Why ``html`` (an HTTP capture's HTML) looks like a JavaScript shell, or None when it does not.

    ``text`` is the page's main (extracted) text when known, else its visible text is used. The
    answer is a short signal: ``"noscript"``, ``"empty app root"`` or ``"script-heavy"``.
    """
    raw = html.encode("utf-8", "replace") if isinstance(html, str) else html
    shown = (len(_collapse(text)) if text is not None
             else visible_length(raw, enough=LITTLE_TEXT * 4))
    if shown >= LITTLE_TEXT * 4:
        return None  # a page with this much text is no shell, whatever else it has
    for match in _NOSCRIPT.finditer(raw):
        inner = _TAG.sub(b" ", match.group(1)).decode("utf-8", "replace")
        if _ASKS_FOR_JS.search(inner) and shown < LITTLE_TEXT:
            return "noscript"
    if shown < LITTLE_TEXT and (_APP_ROOT.search(raw) or _APP_ROOT_TAG.search(raw)):
        return "empty app root"
    if len(raw) >= LARGE_DOCUMENT and shown < LITTLE_TEXT:
        scripts = sum(len(m.group(0)) for m in _SCRIPT.finditer(raw))
        if scripts >= SCRIPT_SHARE * len(raw):
            return "script-heavy"
    return None


def js_shell_reason(signal: str) -> str:
    """The ``mode_reason`` of the browser re-capture of a page whose HTTP capture showed ``signal``."""
    return f"{JS_SHELL}: {signal}"


def is_js_shell_reason(reason: str | None) -> bool:
    """True for the ``mode_reason`` of a browser re-capture of a JavaScript shell (``browser = "auto"``
    then archives two captures of one URL: the HTTP one, and this one)."""
    return bool(reason) and str(reason).startswith(JS_SHELL + ":")
