"""Memento for what other tools replay (issue 13), on SQLite and PostgreSQL over real HTTP: redirect
chains captured with capture_urls (each hop a memento of its own URL), archived error statuses, captures
that share a second, CORS, the CDXJ TimeMap and the CDX server API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.capture.run import capture_urls
from collector.server import ServerContext
from storage.archive import Archive
from storage.database import connect
from tests.collector.server.conftest import at
from tests.collector.server.helpers import by_rel, fetch, parse_link, running
from tests.conftest import make_config
from tests.storage.helpers import html_capture

TWIN_URL = "http://twins.example/page"
TWIN_SECOND = "20240501120000"


@pytest.fixture
def chains(db_url: str, server: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A 2-hop redirect chain and a 404 captured from the test server; two captures of one URL in one
    second written through storage; served."""
    home = tmp_path / "chains"
    config = make_config(home, database_url=db_url)
    results = capture_urls(config, [server + "/redirect/2", server + "/status/404"])
    assert [r["outcome"] for r in results] == ["captured", "captured"], results
    archive = Archive.open(db_url, config.warc_dir)
    try:
        twins = archive.commit_captures([
            html_capture(TWIN_URL, at(TWIN_SECOND, 100_000), body=b"<html><body>first twin</body></html>"),
            html_capture(TWIN_URL, at(TWIN_SECOND, 600_000), body=b"<html><body>second twin</body></html>")])
    finally:
        archive.close()
    with running(ServerContext(config=config, sessions=connect(db_url))) as base:
        yield {"base": base, "server": server, "twins": twins}


def mementos_in(base: str, url: str) -> list[Any]:
    reply = fetch(f"{base}/timemap/link/{url}")
    assert reply.status == 200, (url, reply.status)
    return by_rel(parse_link(reply.text), "memento")


# -- 1. redirects: the memento of a redirect is the redirect; every hop is a memento of its URL ----

def test_each_hop_of_a_redirect_chain_is_a_memento_of_its_own_url(chains: dict[str, Any]) -> None:
    base, server = chains["base"], chains["server"]
    [first] = mementos_in(base, server + "/redirect/2")
    reply = fetch(first.uri)
    assert reply.status == 302  # pywb's memento-of-a-302-capture
    assert reply.header("memento-datetime") == first.attrs["datetime"]
    assert reply.header("vary") is None
    [middle] = mementos_in(base, server + "/redirect/1")
    assert reply.header("location") == middle.uri
    hop = fetch(middle.uri)
    assert hop.status == 302
    [final] = mementos_in(base, server + "/page/final")
    assert hop.header("location") == final.uri
    page = fetch(final.uri)
    assert page.status == 200 and page.header("memento-datetime") == final.attrs["datetime"]
    raw = fetch(final.uri.replace("/" + server, "id_/" + server, 1))
    assert raw.status == 200 and b"final" in raw.body
    # the raw form of the redirect stays raw along the chain
    raw_redirect = fetch(first.uri.replace("/" + server, "id_/" + server, 1))
    assert raw_redirect.status == 302
    assert raw_redirect.header("location") == middle.uri.replace("/" + server, "id_/" + server, 1)
    gate = fetch(f"{base}/timegate/{server}/page/final")
    assert gate.status == 302 and gate.header("location") == final.uri
    assert fetch(f"{base}/timegate/{server}/redirect/1").header("location") == middle.uri


# -- 2. the archived status is the memento's status ----------------------------------------------

def test_a_dead_page_is_answered_with_its_archived_status(chains: dict[str, Any]) -> None:
    base, server = chains["base"], chains["server"]
    [dead] = mementos_in(base, server + "/status/404")
    reply = fetch(dead.uri)
    assert reply.status == 404
    assert reply.header("memento-datetime") == dead.attrs["datetime"]
    assert "archive-banner" in reply.text and "HTTP 404" in reply.text
    assert fetch(dead.uri.replace("/" + server, "if_/" + server, 1)).status == 404


# -- 3. captures in one second each have a URI-M ---------------------------------------------------

def test_captures_in_one_second_each_have_their_own_uri_m(chains: dict[str, Any]) -> None:
    base = chains["base"]
    listed = mementos_in(base, TWIN_URL)
    uris = [m.uri for m in listed]
    assert len(uris) == 2 and len(set(uris)) == 2
    assert uris[0] == f"{base}/web/{TWIN_SECOND}/{TWIN_URL}"  # the first keeps the 14-digit URI-M
    assert uris[1] == f"{base}/web/{TWIN_SECOND}600000/{TWIN_URL}"
    bodies = [fetch(u.replace("/" + TWIN_URL, "id_/" + TWIN_URL)).body for u in uris]
    assert bodies == [b"<html><body>first twin</body></html>", b"<html><body>second twin</body></html>"]
    assert fetch(uris[1]).status == 200
    data = json.loads(fetch(f"{base}/timemap/json/{TWIN_URL}").body)
    assert [m["uri"] for m in data["mementos"]["list"]] == uris
    # a 20-digit timestamp names its memento exactly; a prefix of one goes to the closest
    exact = fetch(f"{base}/web/{TWIN_SECOND}100000id_/{TWIN_URL}")
    assert exact.status == 200 and exact.body == bodies[0]
    near = fetch(f"{base}/web/{TWIN_SECOND}5id_/{TWIN_URL}")
    assert near.status == 302
    assert near.header("location") == uris[1].replace("/" + TWIN_URL, "id_/" + TWIN_URL)
    links = parse_link(fetch(uris[0]).header("link"))
    assert by_rel(links, "next")[0].uri == uris[1]


# -- 4. what Memento clients expect besides RFC 7089 -----------------------------------------------

def test_memento_responses_allow_any_origin(chains: dict[str, Any]) -> None:
    base = chains["base"]
    for url in (f"{base}/timegate/{TWIN_URL}", f"{base}/timemap/link/{TWIN_URL}",
                f"{base}/web/{TWIN_SECOND}/{TWIN_URL}", f"{base}/web/{TWIN_SECOND}id_/{TWIN_URL}"):
        reply = fetch(url, headers={"Origin": "https://elsewhere.example"})
        assert reply.header("access-control-allow-origin") == "*", url
        exposed = {h.strip().lower() for h in reply.header("access-control-expose-headers").split(",")}
        assert {"link", "memento-datetime", "location"} <= exposed
    pre = fetch(f"{base}/timegate/{TWIN_URL}", method="OPTIONS",
                headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET",
                         "Access-Control-Request-Headers": "accept-datetime"})
    assert pre.status == 204 and pre.header("access-control-allow-origin") == "*"
    assert "accept-datetime" in pre.header("access-control-allow-headers").lower()
    assert fetch(f"{base}/", headers={"Origin": "https://x.example"}).header(
        "access-control-allow-origin") is None  # the interface itself is not shared


def test_cdxj_timemap(chains: dict[str, Any]) -> None:
    base = chains["base"]
    reply = fetch(f"{base}/timemap/cdxj/{TWIN_URL}")
    assert reply.status == 200 and reply.header("content-type") == "text/x-cdxj"
    lines = reply.text.splitlines()
    assert len(lines) == 2
    key, stamp, rest = lines[1].split(" ", 2)
    assert key == "example,twins)/page" and stamp == f"{TWIN_SECOND}600000"
    data = json.loads(rest)
    assert data["url"] == TWIN_URL and data["status"] == "200" and data["mime"] == "text/html"
    assert data["digest"].startswith("sha256:") and int(data["length"]) > 0 and data["filename"]


def test_cdx_server_api(chains: dict[str, Any]) -> None:
    base, server = chains["base"], chains["server"]
    host = server.split("://", 1)[1]
    exact = fetch(f"{base}/cdx?url={host}/redirect/2")
    assert exact.status == 200 and exact.header("content-type").startswith("text/plain")
    [line] = exact.text.splitlines()
    fields = line.split(" ")
    assert len(fields) == 9
    assert fields[0].endswith(")/redirect/2") and re.fullmatch(r"\d{14}(\d{6})?", fields[1])
    assert fields[2] == server + "/redirect/2" and fields[4] == "302"
    assert fields[8].endswith(".warc.gz") and int(fields[7]) >= 0
    answer = fetch(f"{base}/cdx?url={host}&matchType=host&output=json")
    hosted = [json.loads(x) for x in answer.text.splitlines()]
    assert sorted(h["url"].removeprefix(server) for h in hosted) == [
        "/page/final", "/redirect/1", "/redirect/2", "/status/404"]
    assert {h["status"] for h in hosted} == {"200", "302", "404"}
    prefix = fetch(f"{base}/cdx?url={host}/redirect/&matchType=prefix").text.splitlines()
    assert len(prefix) == 2 and fetch(f"{base}/cdx?url={host}/redirect/*").text.splitlines() == prefix
    assert len(fetch(f"{base}/cdx?url=twins.example&matchType=domain&limit=1").text.splitlines()) == 1
    both = fetch(f"{base}/cdx?url=twins.example/page&from=2024&to=202405").text.splitlines()
    assert [x.split(" ")[1] for x in both] == [TWIN_SECOND, TWIN_SECOND + "600000"]
    assert fetch(f"{base}/cdx?url=twins.example/page&from={TWIN_SECOND}5").text.split(" ")[1] == \
        TWIN_SECOND + "600000"
    assert fetch(f"{base}/cdx?url=twins.example/page&to=2023").text == ""
    assert fetch(f"{base}/cdx?url=twins.example/page&matchType=nope").status == 400
    assert fetch(f"{base}/cdx").status == 400
