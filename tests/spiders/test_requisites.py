"""What a page needs (requisites) and embeds (media), parsed once; without requisites, a page that
names no <video> or <audio> is not parsed at all."""

from __future__ import annotations

import pytest

from spiders.requisites import Requisite, may_embed_media, page_needs

PAGE = (b'<html><head><link rel="stylesheet" href="/s.css"></head><body><img src="a.png">'
        b'<VIDEO src="clip.mp4"></VIDEO><Audio><source src="/talk.mp3"></Audio></body></html>')
MEDIA = [Requisite("https://site.example/p/clip.mp4", "video"),
         Requisite("https://site.example/talk.mp3", "audio")]


def test_a_page_gives_its_requisites_and_its_media() -> None:
    wanted, media = page_needs(PAGE, "https://site.example/p/", "utf-8")
    assert [r.url for r in wanted] == ["https://site.example/s.css", "https://site.example/p/a.png"]
    assert media == MEDIA


def test_without_requisites_the_media_are_still_found() -> None:
    assert page_needs(PAGE, "https://site.example/p/", "utf-8", requisites=False) == ([], MEDIA)


@pytest.mark.parametrize(("body", "encoding", "maybe"), [
    (PAGE, "utf-8", True),
    (b"<p>text <b>only</b>, an <img src=x.png></p>", "cp1252", False),
    (b"<p>an <AUDIO src=a.ogg></p>", None, True),
    ("<p>no media, but UTF-16</p>".encode("utf-16"), "utf-16", True),  # bytes say nothing
    (b"<p>unknown charset</p>", "x-no-such-charset", True),
])
def test_may_embed_media_says_no_only_when_certain(body: bytes, encoding: str | None,
                                                   maybe: bool) -> None:
    assert may_embed_media(body, encoding) is maybe


def test_a_utf16_page_is_parsed_for_its_media() -> None:
    body = '<html><body><video src="v.webm"></video></body></html>'.encode("utf-16")
    assert page_needs(body, "https://site.example/", "utf-16", requisites=False)[1] == [
        Requisite("https://site.example/v.webm", "video")]
