"""Markdown reports: rendered to plain text with markdown-it, keeping every link as a span.

Footnote definitions (``[^label]: text``, continued by indented lines) are taken out before rendering
and become notes entries; numbered reference definitions (``[3]: https://...``) are notes entries too.
A link whose text is a number (``[3]`` resolved to a definition, ``[[3]](url)``) is written back as the
marker ``[3]`` with the link on it; ``<sup>3</sup>`` becomes ``[3]``.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

from collector.citations.decode import declared_charset, decode_text
from collector.citations.document import Extracted, Link, RawEntry
from collector.citations.textreport import guess_title
from collector.citations.urls import resolve_url

__all__ = ["read_markdown"]

_FOOTNOTE_DEF = re.compile(r"[ ]{0,3}\[\^([^\]\s]{1,40})\]:[ \t]?(.*)")
_NUMBERED_DEF = re.compile(r"[ ]{0,3}\[(\d{1,5})\]:[ \t]*<?([^\s>]+)>?(?:[ \t]+[\"'(](.*)[\"')])?[ \t]*")
_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*\n", re.S)
_ENTRY_AHEAD = re.compile(r"[ \t]*(?:\[\d{1,5}\]|\[\^[^\]\s]{1,40}\]:|\d{1,5}[.)][ \t])")
_MARKER_TEXT = re.compile(r"\[?\^?(\d{1,5})\]?")
_TAG = re.compile(r"<[^>]+>")
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.I)
_BREAKS = re.compile(r"[\n\x00]")
_SOFT = "\x00"
_BODY_MARKER = re.compile(r"(?<![\\!\]])\[(\^[^\]\s]{1,40}|\d{1,5})\](?![(:\[])")


class _Markdown(MarkdownIt):
    """CommonMark with tables; link destinations are kept as written (no percent-encoding)."""

    def __init__(self) -> None:
        super().__init__("commonmark")
        self.enable("table").enable("strikethrough")

    def normalizeLink(self, url: str) -> str:  # markdown-it's own method name
        return url


def _escape_markers(line: str, numbered: set[str]) -> str:
    """Escape ``[^x]`` and undefined ``[n]`` markers so markdown-it reads them as text, not link labels."""
    return _BODY_MARKER.sub(lambda m: m.group() if m.group(1) in numbered else f"\\[{m.group(1)}\\]", line)


class _Renderer:
    """Builds the plain text of Markdown tokens, with link spans and the source line of each output line."""

    def __init__(self, first_line: int = 1) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.links: list[Link] = []
        self.line_sources: list[int] = [first_line]  # source line of each output line
        self.soft_sources: list[int] = []  # source line after each soft break
        self.item_open = False  # a list item's number or bullet was just written

    def write(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.size += len(text)

    def newline(self, src_line: int | None) -> None:
        """End the current output line (unless it is empty) and note where the next one comes from."""
        if self.item_open:
            self.item_open = False
            return
        if self.size and not self.parts[-1].endswith("\n"):
            self.write("\n")
            self.line_sources.append(src_line or self.line_sources[-1])
        elif src_line is not None:
            self.line_sources[-1] = src_line

    def inline(self, children: list[Any], src_line: int) -> None:
        """Render one inline token's children."""
        opened: list[tuple[int, int, str | None]] = []  # (part index, offset, url) of open links
        sup: tuple[int, int] | None = None
        soft = 0
        for child in children:
            kind = child.type
            if kind in ("text", "code_inline"):
                self.write(child.content)
            elif kind == "softbreak":
                soft += 1
                self.soft_sources.append(src_line + soft)
                self.write(_SOFT)
            elif kind == "hardbreak":
                soft += 1
                self.write("\n")
                self.line_sources.append(src_line + soft)
            elif kind == "image" and opened:
                self.write(child.content)
            elif kind == "link_open":
                url = resolve_url(str(child.attrs.get("href", "")), None)
                opened.append((len(self.parts), self.size, url))
            elif kind == "link_close" and opened:
                self._close_link(*opened.pop())
            elif kind == "html_inline":
                tag = child.content.lower()
                if tag.startswith("<sup"):
                    sup = (len(self.parts), self.size)
                elif tag.startswith("</sup") and sup is not None:
                    self._as_marker(*sup)
                    sup = None
                elif tag.startswith("<a "):
                    href = _HREF.search(child.content)
                    url = resolve_url(href.group(1), None) if href else None
                    opened.append((len(self.parts), self.size, url))
                elif tag.startswith("</a") and opened:
                    self._close_link(*opened.pop())

    def _as_marker(self, index: int, offset: int) -> str:
        """Rewrite the text written since part ``index`` as ``[n]`` when it is a number; return the text."""
        written = "".join(self.parts[index:])
        match = _MARKER_TEXT.fullmatch(written.strip())
        if match:
            written = f"[{match.group(1)}]"
            del self.parts[index:]
            self.parts.append(written)
            self.size = offset + len(written)
        return written

    def _close_link(self, index: int, offset: int, url: str | None) -> None:
        written = self._as_marker(index, offset)
        if url is not None:
            self.links.append(Link(offset, self.size, url, written.replace(_SOFT, " ")))

    def finish(self) -> tuple[str, list[str]]:
        """The text, and where each of its lines comes from.

        A soft break becomes a space, or a line break when a notes entry starts after it.
        """
        text = "".join(self.parts)
        out = list(text) if _SOFT in text else None
        where: list[str] = []
        hard = iter(self.line_sources)
        soft = iter(self.soft_sources)
        where.append(f"line {next(hard)}")
        for match in _BREAKS.finditer(text):
            if match.group() == "\n":
                src = next(hard, None)
                where.append(f"line {src}" if src else where[-1])
                continue
            src_line = next(soft, None)
            assert out is not None
            if _ENTRY_AHEAD.match(text, match.end()):
                out[match.start()] = "\n"
                where.append(f"line {src_line}" if src_line else where[-1])
            else:
                out[match.start()] = " "
        return ("".join(out) if out is not None else text), where


def _take_definitions(lines: list[str]) -> tuple[list[RawEntry], list[tuple[str, str, int]]]:
    """Blank out footnote definitions in ``lines`` and return them; read numbered reference definitions."""
    footnotes: list[tuple[str, str, int]] = []  # (label, source text, 1-based line)
    numbered: list[RawEntry] = []
    index = 0
    while index < len(lines):
        match = _FOOTNOTE_DEF.fullmatch(lines[index])
        if match is None:
            ref = _NUMBERED_DEF.fullmatch(lines[index])
            if ref is not None:
                url = resolve_url(ref.group(2), None)
                numbered.append(RawEntry(
                    label=str(int(ref.group(1))), text=ref.group(3) or ref.group(2),
                    where=f"line {index + 1}", urls=[url] if url else [],
                    source=lines[index].split(":", 1)[1].strip(),
                ))
            index += 1
            continue
        body = [match.group(2)]
        first = index
        lines[index] = ""
        index += 1
        while index < len(lines):
            line = lines[index]
            indented_next = index + 1 < len(lines) and lines[index + 1][:1] in (" ", "\t") \
                and bool(lines[index + 1].strip())
            if line[:1] in (" ", "\t") and line.strip():
                body.append(line.strip())
            elif not line.strip() and indented_next:
                body.append("")
            else:
                break
            lines[index] = ""
            index += 1
        footnotes.append(("^" + match.group(1), "\n".join(body).strip(), first + 1))
    return numbered, footnotes


def read_markdown(data: bytes, *, name: str, content_type: str | None = None) -> Extracted:
    """Read a Markdown report."""
    source = decode_text(data, name=name, charset=declared_charset(b"", content_type))
    title: str | None = None
    front = _FRONT_MATTER.match(source)
    if front:
        found = re.search(r"^title:\s*[\"']?(.*?)[\"']?\s*$", front.group(1), re.M)
        title = found.group(1) if found else None
        source = "\n" * front.group(0).count("\n") + source[front.end():]
    lines = source.split("\n")
    numbered, footnotes = _take_definitions(lines)
    md = _Markdown()
    renderer = _Renderer()
    in_h1 = False
    defined = {entry.label for entry in numbered}
    for token in md.parse("\n".join(_escape_markers(line, defined) for line in lines)):
        src_line = token.map[0] + 1 if token.map else None
        kind = token.type
        if kind in ("paragraph_open", "heading_open", "blockquote_open", "tr_open", "hr"):
            renderer.newline(src_line)
            in_h1 = kind == "heading_open" and token.tag == "h1"
        elif kind == "list_item_open":
            renderer.newline(src_line)
            renderer.write(f"{token.info}. " if token.info else "* ")
            renderer.item_open = True
        elif kind in ("th_open", "td_open"):
            renderer.write(" | ")
        elif kind == "inline":
            if in_h1 and title is None:
                title = token.content.strip() or None
            renderer.inline(token.children or [], src_line or 1)
        elif kind == "html_block":
            renderer.newline(src_line)
            renderer.write(" ".join(_TAG.sub(" ", token.content).split()))
    text, where = renderer.finish()
    entries = list(numbered)
    for label, body, line in footnotes:
        sub = _Renderer(line)
        sub.inline(md.parseInline(body)[0].children or [], line)
        rendered, _ = sub.finish()
        anchor = next((lk.text for lk in sub.links if lk.text and lk.text != lk.url), None)
        entries.append(RawEntry(label=label, text=rendered, where=f"line {line}",
                                urls=[lk.url for lk in sub.links], anchor_text=anchor, source=body))
    return Extracted(format="markdown", text=text, title=title or guess_title(text.split("\n")),
                     links=renderer.links, entries=entries, where=where)
