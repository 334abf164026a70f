"""What in an HTML page is the site's chrome rather than the report: navigation, headers, footers,
share buttons, comment sections, sidebars; and links that are not citations even inside the text."""

from __future__ import annotations

import re

from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html  # type: ignore[import-untyped]

from collector.citations.urls import host_of, is_share_link

__all__ = ["content_root", "is_chrome_link", "is_notes_container", "strip_chrome"]

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "form", "button", "select",
              "textarea", "input", "dialog", "object", "embed", "head", "menu")
_CHROME_TAGS = ("nav", "header", "footer", "aside")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "menu", "menubar", "toolbar",
                 "complementary", "dialog", "alert"}
_CHROME_TOKENS = {
    "nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "share", "sharing", "sharedaddy",
    "social", "addthis", "sidebar", "widget", "widgets", "related", "recommended", "comments", "comment",
    "respond", "subscribe", "subscription", "newsletter", "cookie", "cookies", "banner", "advert",
    "advertisement", "ads", "ad", "promo", "masthead", "footer", "header", "pagination", "pager", "toolbar",
    "skip", "byline", "tags", "categories", "meta", "popup", "modal", "signup", "login", "author", "bio",
}
_NOTES_TOKENS = {"footnote", "footnotes", "endnote", "endnotes", "notes", "references", "reflist",
                 "citations", "fn", "ftn", "bibliography", "sources"}
_NOTES_ROLES = {"doc-endnotes", "doc-footnote", "doc-endnote", "doc-bibliography"}
_TOKEN_SPLIT = re.compile(r"[\s_-]+")
_CHROME_PATH = re.compile(
    r"^/(?:tag|tags|category|categories|author|authors|page|search|login|signin|sign-in|signup|register"
    r"|subscribe|feed|rss|wp-admin|wp-login\.php|cart|account|privacy|privacy-policy|terms|about|contact"
    r"|newsletter|donate|membership|topics?|section)(?:/|$)",
    re.I,
)


def _tokens(el: lxml_html.HtmlElement) -> set[str]:
    values = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return {t for t in _TOKEN_SPLIT.split(values) if t}


def is_notes_container(el: lxml_html.HtmlElement) -> bool:
    """True for elements whose class, id or role says they hold footnotes or references."""
    return bool(_tokens(el) & _NOTES_TOKENS) or el.get("role", "") in _NOTES_ROLES


def content_root(root: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """The element holding the report: ``<main>``, ``[role=main]``, the largest ``<article>``, ``<body>``."""
    for path in ("//main", "//*[@role='main']"):
        found = root.xpath(path)
        if found:
            return found[0]
    articles = root.xpath("//article")
    if articles:
        return max(articles, key=lambda a: len(a.text_content()))
    body = root.find("body")
    return body if body is not None else root


def strip_chrome(root: lxml_html.HtmlElement) -> None:
    """Remove scripts, forms and the site's chrome from ``root`` (never an element with most of the text)."""
    for el in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        el.drop_tree()
    for el in list(root.iter(*_DROP_TAGS)):
        el.drop_tree()
    total = len(root.text_content()) or 1
    doomed = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el is root:
            continue
        tokens = _tokens(el)
        if tokens & _NOTES_TOKENS or el.get("role", "") in _NOTES_ROLES:
            continue
        style = el.get("style", "").replace(" ", "").lower()
        hidden = "display:none" in style or el.get("hidden") is not None or el.get("aria-hidden") == "true"
        chrome = (hidden or el.tag in _CHROME_TAGS or el.get("role", "") in _CHROME_ROLES
                  or bool(tokens & _CHROME_TOKENS))
        if chrome and (hidden or 2 * len(el.text_content()) < total):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def is_chrome_link(url: str, el: lxml_html.HtmlElement, site: str | None) -> bool:
    """Links that are not citations inside the text: share buttons, tag/author/category pages of the site."""
    if is_share_link(url):
        return True
    rel = el.get("rel", "").lower()
    if any(word in rel.split() for word in ("tag", "author", "category", "nofollow-me", "bookmark")):
        return True
    if site and host_of(url) == site:
        path = url.split("://", 1)[-1].split("/", 1)[1:] or [""]
        return not path[0].split("?")[0].strip("/") or bool(_CHROME_PATH.match("/" + path[0]))
    return False
