"""The rewriter against a corpus of hostile snippets: whatever the markup trick, the rewritten page has no
script element, no event-handler attribute and no ``javascript:`` URL, checked on the output parsed again
with lxml (elements, attributes, comments), and no ``<script`` anywhere in its bytes."""

from __future__ import annotations

import re

import lxml.html
import pytest

from collector.server.rewrite import rewrite_html

HOSTILE = [
    "<noscript><script>alert(1)</script></noscript>",
    "<noscript><p title='</noscript><script>alert(1)</script>'></noscript>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><script href=x>alert(1)</script></svg>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<SCRIPT/x>alert(1)</SCRIPT>",
    "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror='alert(1)'>",
    '<img src=x onerror="alert(1)">',
    "<img/src=x/onerror=alert(1)>",
    "<img src=x ONERROR=alert(1)>",
    "<img src=`x`onerror=alert(1)>",
    '<img """><script>alert(1)</script>">',
    "<img src=x on\x00error=alert(1)>",
    "<img src=x onerror\x0c=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<a href=' JaVaScRiPt:alert(1)'>x</a>",
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    "<iframe src='javascript:alert(1)'></iframe>",
    "<form action='javascript:alert(1)'><button formaction='javascript:alert(1)'>x</button></form>",
    "<input type=image formaction=javascript:alert(1)>",
    "<isindex action=javascript:alert(1) type=image>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href='javascript:alert(1)//'><a href=x>x</a>",
    "<body ONLOAD=alert(1)>",
    "<div/onclick=alert(1)>x</div>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<template><script>alert(1)</script></template>",
    "<object data='javascript:alert(1)'></object>",
    "<embed src='javascript:alert(1)'>",
    "<object data=x.swf><param name=x value=y><script>alert(1)</script></object>",
    "<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=href to='javascript:alert(1)'/>",
    "<svg><a><animate attributeName=href values='x;javascript:alert(1)'/><text>x</text></a></svg>",
    "<svg onload=alert(1)>",
    "<math><a xlink:href=javascript:alert(1)>x</a></math>",
    "<svg><foreignObject><script>alert(1)</script></foreignObject></svg>",
    "<x:script>alert(1)</x:script>",
    "<xmp><script>alert(1)</script></xmp>",
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<noembed><script>alert(1)</script></noembed>",
    "<style></style><script>alert(1)</script>",
    "<style>@import 'javascript:alert(1)';</style>",
    "<style></style><img src=x onerror=alert(1)>",
    "<plaintext><script>alert(1)</script>",
    "<p style='background:url(javascript:alert(1))'>x</p>",
    "<div data-x='javascript:alert(1)'>x</div>",
    "<scr<script>ipt>alert(1)</script>",
    "<script>alert(1)</script",
    "<script",
    "<a href=x onmouseover=alert(1)//>x</a>",
    "<img src='x' onerror=alert(1) alt='\"'>",
    "<table><td background='javascript:alert(1)'>x</td></table>",
    "<frameset onload=alert(1)><frame src=javascript:alert(1)></frameset>",
    "<?xml-stylesheet href='javascript:alert(1)'?><p>x</p>",
    "<a href=\"jav\nascript:alert(1)\">x</a>",
    "<a href='vbscript:msgbox(1)'>x</a>",
    "<area href=javascript:alert(1)>",
    "<svg><use href='data:image/svg+xml,<svg onload=alert(1)>'/></svg>",
]


def _mapper(target: str, kind: str) -> str:
    return f"http://127.0.0.1:9/web/20200101000000{'' if kind == 'page' else 'id_'}/{target}"


def _problems(out: str) -> list[str]:
    problems = []
    if re.search(r"<\s*script", out, re.I):
        problems.append("'<script' in the output")
    doc = lxml.html.document_fromstring(out)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            problems.append(f"a comment or instruction {el!r}")
            continue
        if el.tag.lower().rsplit(":", 1)[-1] in ("script", "iframe-srcdoc", "object", "embed", "base"):
            problems.append(f"a <{el.tag}> element")
        if el.tag == "style" and "<" in (el.text or ""):  # markup to a browser inside <svg>/<math>
            problems.append(f"markup inside <style>: {el.text!r}")
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                problems.append(f"attribute {name} on <{el.tag}>")
            if re.search(r"(java|vb)script:", re.sub(r"[\x00-\x20]", "", value), re.I):
                problems.append(f"a script URL in {name} of <{el.tag}>")
            if not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", name):
                problems.append(f"an attribute named {name!r}")
    return problems


@pytest.mark.parametrize("snippet", HOSTILE)
def test_rewritten_hostile_snippet_has_nothing_executable(snippet: str) -> None:
    for page in (f"<html><body>{snippet}</body></html>", snippet, f"<p>before</p>{snippet}<p>after</p>"):
        out = rewrite_html(page, base="http://example.org/dir/", mapper=_mapper).decode("utf-8")
        assert _problems(out) == [], (snippet, out)


def test_style_text_stays_css_but_cannot_open_markup() -> None:
    out = rewrite_html("<style>a[title='<b>'] { color: red } @import 'print.css';</style>",
                       base="http://example.org/", mapper=_mapper).decode()
    doc = lxml.html.document_fromstring(out)
    [style] = doc.xpath("//style")
    assert "<" not in style.text
    assert "color: red" in style.text and "/web/20200101000000id_/http://example.org/print.css" in style.text


def test_comments_and_odd_tags_go_but_their_text_stays() -> None:
    out = rewrite_html("<p>one<!-- hidden --> two <scr<script>ipt>three</p>", base="http://example.org/",
                       mapper=_mapper).decode()
    text = lxml.html.document_fromstring(out).text_content()
    assert "one" in text and "two" in text and "three" in text
    assert "hidden" not in out and "<scr" not in out
