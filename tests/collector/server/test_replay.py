"""Safe replay: captured pages (a hostile one among them) served inert, links pointing into the archive,
a banner outside the sandboxed frame; and the rewriter on hand-made inputs."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import lxml.html
import pytest

from collector.server.rewrite import decode_html, rewrite_css, rewrite_html, safe_url
from storage.queries import snapshots
from tests.collector.server.helpers import fetch
from tests.collector.server.site import EVIL


def memento_of(world: dict[str, Any], path: str) -> tuple[str, str]:
    """(timestamp, url) of the first capture of ``path``."""
    url = world["base"] + path
    first = next(c for c in snapshots(world["sessions"], url) if c.outcome == "captured")
    return first.captured_at.strftime("%Y%m%d%H%M%S"), url


def framed(live: str, world: dict[str, Any], path: str) -> tuple[Any, Any]:
    stamp, url = memento_of(world, path)
    reply = fetch(f"{live}/web/{stamp}if_/{url}")
    assert reply.status == 200, reply.text
    return reply, lxml.html.document_fromstring(reply.body)


def test_hostile_page_is_inert(live: str, world: dict[str, Any]) -> None:
    reply, doc = framed(live, world, "/hostile")
    html = reply.text.lower()
    assert not doc.xpath("//script | //object | //embed | //base | //meta[@http-equiv]")
    assert "javascript:" not in html and "data:text/html" not in html
    for before in re.findall(r"(.{0,30})" + re.escape(EVIL), reply.text):  # elsewhere: only via the archive
        assert re.search(r"/web/\d{14}(id_|if_)?/$", before), before
    for value in re.findall(r'\s(?:href|src|srcset|action|formaction|data)="([^"]*)"', reply.text):
        assert value.startswith(live + "/web/"), value
    for el in doc.iter():
        if isinstance(el.tag, str):
            assert not [a for a in el.attrib if a.lower().startswith("on")], el.tag
    [form] = doc.xpath("//form")
    assert form.get("action") is None and form.get("method") is None
    assert doc.xpath("//button")[0].get("formaction") is None
    assert doc.xpath("//iframe")[0].get("srcdoc") is None
    assert doc.xpath('//a[@id="js"]')[0].get("href") is None
    assert doc.xpath('//a[@id="js2"]')[0].get("href") is None
    assert doc.xpath('//a[@id="data"]')[0].get("href") is None
    assert "SCRIPT RAN" not in reply.text


def test_framed_content_csp_forbids_scripts_and_same_origin(live: str, world: dict[str, Any]) -> None:
    reply, _ = framed(live, world, "/hostile")
    csp = reply.header("content-security-policy")
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    assert "allow-scripts" not in directives["sandbox"] and "allow-same-origin" not in directives["sandbox"]
    assert "allow-forms" not in directives["sandbox"] and "allow-popups" not in directives["sandbox"]
    assert directives["default-src"] == ["'none'"]
    assert "script-src" not in directives  # falls back to default-src 'none'
    assert directives["form-action"] == ["'none'"]
    assert reply.header("x-content-type-options") == "nosniff"
    assert reply.header("memento-datetime")


def test_links_and_images_point_into_the_archive_at_the_same_time(live: str, world: dict[str, Any]) -> None:
    stamp, _url = memento_of(world, "/article")
    _, doc = framed(live, world, "/article")
    base = world["base"]
    assert doc.xpath('//a[@id="other"]')[0].get("href") == f"{live}/web/{stamp}/{base}/other"
    assert doc.xpath('//a[@id="other"]')[0].get("target") == "_top"
    assert doc.xpath('//img[@id="photo"]')[0].get("src") == f"{live}/web/{stamp}id_/{base}/img.png"
    assert doc.xpath("//link[@rel='stylesheet']")[0].get("href") == f"{live}/web/{stamp}cs_/{base}/style.css"
    assert doc.xpath('//a[@id="missing"]')[0].get("href") == f"{live}/web/{stamp}/{EVIL}/never-archived"
    # the image resolves (closest capture of the image) and is the archived PNG
    image = fetch(doc.xpath('//img[@id="photo"]')[0].get("src"))
    if image.status == 302:
        image = fetch(image.header("location"))
    assert image.status == 200 and image.header("content-type") == "image/png"
    assert image.body.startswith(b"\x89PNG")
    # a link to a page never archived answers 404 with the live link, not the live page
    missing = fetch(f"{live}/web/{stamp}/{EVIL}/never-archived")
    assert missing.status == 404 and b"not captured" in missing.body


def test_wrapper_page_has_banner_and_sandboxed_frame(live: str, world: dict[str, Any]) -> None:
    stamp, url = memento_of(world, "/article")
    reply = fetch(f"{live}/web/{stamp}/{url}")
    assert reply.status == 200 and reply.header("memento-datetime")
    doc = lxml.html.document_fromstring(reply.body)
    [banner] = doc.xpath('//*[@id="archive-banner"]')
    text = banner.text_content()
    capture = next(c for c in snapshots(world["sessions"], url) if c.outcome == "captured")
    assert url in text and capture.sha256 in text
    assert capture.captured_at.strftime("%Y-%m-%d %H:%M:%S") in text
    hrefs = [a.get("href") for a in banner.xpath(".//a")]
    assert url in hrefs  # the live page
    assert any(h.startswith("/timeline?url=") for h in hrefs)
    [frame] = doc.xpath("//iframe")
    assert frame.get("src") == f"{live}/web/{stamp}if_/{url}"
    assert frame.get("sandbox") == "allow-top-navigation-by-user-activation"
    assert not doc.xpath("//iframe/ancestor::*[@id='archive-banner']")  # banner outside the frame
    csp = reply.header("content-security-policy")
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp


def test_raw_payload_matches_the_capture_sha256(live: str, world: dict[str, Any]) -> None:
    stamp, url = memento_of(world, "/hostile")
    capture = next(c for c in snapshots(world["sessions"], url) if c.outcome == "captured")
    reply = fetch(f"{live}/web/{stamp}id_/{url}")
    assert hashlib.sha256(reply.body).hexdigest() == capture.sha256
    assert reply.header("content-type") == capture.content_type
    assert reply.header("content-security-policy").startswith("sandbox;")
    download = fetch(f"{live}/web/{stamp}dl_/{url}")
    assert download.body == reply.body
    assert download.header("content-disposition").startswith("attachment")


# -- the rewriter on its own -------------------------------------------------------------------------

def mapper(target: str, kind: str) -> str:
    return f"/A/{kind}/{target}"


def rewrite(html: str, base: str = "http://site.test/dir/page.html") -> Any:
    return lxml.html.document_fromstring(rewrite_html(html, base=base, mapper=mapper))


@pytest.mark.parametrize("value", ["javascript:alert(1)", " JAVASCRIPT:alert(1)", "java\tscript:alert(1)",
                                   "java\nscript:x", "\x01javascript:x", "vbscript:x", "data:text/html,x",
                                   "mailto:a@b", "file:///etc/passwd", "#top", ""])
def test_safe_url_refuses_non_http(value: str) -> None:
    assert safe_url(value, "http://site.test/") is None


def test_safe_url_resolves_relative() -> None:
    assert safe_url("../x?y=1", "http://site.test/a/b/c") == "http://site.test/a/x?y=1"
    assert safe_url("//cdn.test/i.png", "https://site.test/") == "https://cdn.test/i.png"


def test_rewrite_resolves_against_base_element_then_drops_it() -> None:
    doc = rewrite('<html><head><base href="http://other.test/b/"></head>'
                  '<body><a href="x">x</a></body></html>')
    assert not doc.xpath("//base")
    assert doc.xpath("//a")[0].get("href") == "/A/page/http://other.test/b/x"


def test_rewrite_srcset_style_and_frames() -> None:
    doc = rewrite('<body><img srcset="a.png 1x, javascript:x 2x, /b.png 3x">'
                  '<p style="background:url(&quot;bg.png&quot;)">p</p><iframe src="/f"></iframe>'
                  "<style>@import 'print.css'; h1 { background: url(javascript:x) }</style></body>")
    assert doc.xpath("//img")[0].get("srcset") == ("/A/embed/http://site.test/dir/a.png 1x, "
                                                   "/A/embed/http://site.test/b.png 3x")
    assert doc.xpath("//p")[0].get("style") == 'background:url("/A/embed/http://site.test/dir/bg.png")'
    assert doc.xpath("//iframe")[0].get("src") == "/A/frame/http://site.test/f"
    style = doc.xpath("//style")[0].text
    assert '@import "/A/style/http://site.test/dir/print.css"' in style and "javascript" not in style


def test_rewrite_keeps_text_around_removed_elements() -> None:
    doc = rewrite("<body><p>before<script>x()</script> after</p><noscript>shown</noscript></body>")
    assert doc.xpath("//p")[0].text_content() == "before after"
    assert "shown" in doc.text_content()


def test_rewrite_declares_utf8_and_survives_junk() -> None:
    out = rewrite_html('<?xml version="1.0" encoding="iso-8859-1"?><html><body>é</body></html>',
                       base="http://s.test/", mapper=mapper)
    assert out.startswith(b"<!DOCTYPE html>") and b'<meta charset="utf-8">' in out and "é".encode() in out
    assert rewrite_html("", base="http://s.test/", mapper=mapper).startswith(b"<!DOCTYPE html>")
    assert b"<html" in rewrite_html("\x00\x01 not html at all", base="http://s.test/", mapper=mapper)


def test_decode_html_uses_header_then_meta_then_utf8() -> None:
    latin = "café".encode("iso-8859-1")
    assert decode_html(latin, "iso-8859-1") == "café"
    assert decode_html(b'<meta charset="iso-8859-1">' + latin, None).endswith("café")
    assert decode_html("café".encode(), None) == "café"
    assert decode_html(latin, None) == "café"  # not UTF-8: cp1252


def test_rewrite_css_makes_other_schemes_inert() -> None:
    css = "a { background: url(x.png) } b { background: url('data:image/png;base64,AA') }"
    out = rewrite_css(css, "http://s.test/c/", mapper)
    assert 'url("/A/embed/http://s.test/c/x.png")' in out and 'url("about:invalid")' in out


def test_plugins_go_but_what_follows_them_stays() -> None:
    doc = rewrite('<body><object data="x.swf"><p id="fallback">fallback</p></object>'
                  '<embed src="y.swf"><div id="after">after</div></body>')
    assert not doc.xpath("//object | //embed")
    assert doc.xpath("//p[@id='fallback']") and doc.xpath("//div[@id='after']")


def test_separate_replay_origin(world: dict[str, Any]) -> None:
    from collector.server import ServerContext
    from tests.collector.server.helpers import running

    replay = "http://127.0.0.2:8999"
    stamp, url = memento_of(world, "/article")
    ctx = ServerContext(config=world["config"], sessions=world["sessions"], replay_origin=replay)
    with running(ctx) as base:
        reply = fetch(f"{base}/web/{stamp}/{url}")
        [frame] = lxml.html.document_fromstring(reply.body).xpath("//iframe")
        assert frame.get("src") == f"{replay}/web/{stamp}if_/{url}"
        assert f"frame-src 'self' {replay}" in reply.header("content-security-policy")
        framed_reply = fetch(f"{base}/web/{stamp}if_/{url}")
        doc = lxml.html.document_fromstring(framed_reply.body)
        assert doc.xpath('//img[@id="photo"]')[0].get("src").startswith(f"{replay}/web/{stamp}id_/")
        assert doc.xpath('//a[@id="other"]')[0].get("href").startswith(f"{base}/web/{stamp}/")
        assert f"img-src {replay} data:" in framed_reply.header("content-security-policy")
        assert fetch(f"{base}/api/captures").header("allow") == "POST"
