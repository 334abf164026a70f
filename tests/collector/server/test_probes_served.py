"""Soft-404 probes of a real ``collector check`` are marked, reachable by id from their check, and in no
list, count, TimeMap, CDX answer or search of the served archive."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from storage.checks import checks_of
from storage.models import Capture
from storage.queries import captures_by_ids
from storage.records import PROBE
from tests.collector.server.helpers import fetch

JSON = {"Accept": "application/json"}


def _json(url: str) -> Any:
    reply = fetch(url, headers=JSON)
    assert reply.status == 200, reply.text[:300]
    return json.loads(reply.body)


def _probes(world: dict[str, Any]) -> list[Any]:
    ids = [c.probe_id for url in world["checks"] for c in checks_of(world["sessions"], url) if c.probe_id]
    assert ids, "the world's check sent no probe"
    return captures_by_ids(world["sessions"], ids)


def test_check_marks_its_probe_captures(world: dict[str, Any]) -> None:
    assert all(p.purpose == PROBE for p in _probes(world))
    pages = captures_by_ids(world["sessions"], [r["id"] for r in world["first"]])
    assert all(c.purpose is None for c in pages)


def test_the_timeline_of_a_checked_url_links_its_probe(live: str, world: dict[str, Any]) -> None:
    probed = {c.url: c.probe_id for url in world["checks"] for c in checks_of(world["sessions"], url)
              if c.probe_id}
    url, probe_id = next(iter(probed.items()))
    info = _json(live + "/timeline.json?url=" + quote(url, safe=""))
    assert probe_id in [c["probe_id"] for c in info["checks"]]
    page = fetch(live + "/timeline?url=" + quote(url, safe=""))
    assert f"href='/snapshot/{probe_id}'" in page.text or f'href="/snapshot/{probe_id}"' in page.text


def test_probes_are_out_of_the_served_lists_but_reachable_by_id(live: str, world: dict[str, Any]) -> None:
    probes = _probes(world)
    home = _json(live + "/index.json")
    listed = {c["id"] for c in home["latest_captures"]}
    assert not listed & {p.id for p in probes}
    host = world["base"].split("//", 1)[1]
    cdx = fetch(f"{live}/cdx?url={host}/&matchType=host&output=json")
    assert cdx.status == 200
    cdx_urls = {json.loads(line)["url"] for line in cdx.text.splitlines()}
    for probe in probes:
        assert probe.url not in cdx_urls
        assert fetch(f"{live}/timemap/link/{probe.url}").status == 404
        assert fetch(live + "/timeline.json?url=" + quote(probe.url, safe=""), headers=JSON).status == 404
        shown = _json(f"{live}/snapshot/{probe.id}")  # the check that used it links here
        assert shown["capture"]["id"] == probe.id and shown["capture"]["purpose"] == PROBE
    with world["sessions"]() as session:
        every = session.scalar(sa.select(sa.func.count()).select_from(Capture))
        # the pages' requisites are no pages either (docs/requisites.md)
        requisites = session.scalar(sa.select(sa.func.count()).select_from(Capture)
                                    .where(Capture.page_id.is_not(None)))
    assert requisites and home["counts"]["captures"] == every - len(probes) - requisites
