"""The Scrapy item pipeline that hands each capture item to the archive writer."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from scrapy.exceptions import NotConfigured

from collector.capture.writeproc import WriterLink, describe_run
from collector.config import Config
from storage.records import Attachment, CaptureInput, Exchange

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler


__all__ = ["ArchivePipeline", "CaptureSink", "OwnWriterPipeline", "register_media_sink", "register_writer",
           "subresource_inputs",
           "to_capture_input"]

log = logging.getLogger(__name__)


class CaptureSink(Protocol):
    """Where the pipeline sends attempts: ``collector.capture.writeproc.WriterLink`` (the writer process),
    or an ``ArchiveWriter`` in this process."""

    def submit(self, item: CaptureInput) -> Future[Any]:
        """Queue one attempt; the future resolves to its committed row (``id``, ``url``, ``outcome``)."""

    @property
    def congested(self) -> bool:
        """True when the crawl should wait for its item's row."""

    @property
    def error(self) -> BaseException | None:
        """The failure that stopped archiving, if one did."""


# Scrapy deep-copies its settings, so live objects are passed by key through these registries.
_WRITERS: dict[str, CaptureSink] = {}
_MEDIA_SINKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def register_media_sink(sink: Callable[[dict[str, Any]], None]) -> str:
    """Make ``sink`` reachable from a crawl; put the returned key in COLLECTOR_MEDIA_SINK. It is given
    ``{"media_of": page row id, "media": [{"url", "kind"}, ...]}`` for each page that embeds media,
    once the page's row is committed."""
    key = f"media-{id(sink)}"
    _MEDIA_SINKS[key] = sink
    return key


def register_writer(writer: CaptureSink) -> str:
    """Make ``writer`` reachable from a crawl; put the returned key in COLLECTOR_WRITER."""
    key = f"writer-{id(writer)}"
    _WRITERS[key] = writer
    return key


def to_capture_input(item: dict[str, Any], *, run: dict[str, Any]) -> CaptureInput:
    """Turn a spider's plain-dict item into the storage input of one attempt."""
    hops = [Exchange(**hop) for hop in item.get("hops", [])]
    target = item["target"]
    final = next((h for h in reversed(hops)), None)
    captured_at = final.requested_at if final else datetime.now(UTC)
    started = item.get("started_at")
    return CaptureInput(
        url=target["url"],
        captured_at=captured_at,
        outcome=item["outcome"],
        reason=item.get("reason"),
        reason_detail=item.get("reason_detail"),
        exchanges=hops,
        final_url=item.get("final_url"),
        redirect_chain=item.get("redirect_chain", []),
        ignore_robots=bool(run.get("ignore_robots")),
        allow_private=bool(run.get("allow_private")),
        user_agent=run.get("user_agent"),
        run_id=run.get("run_id"),
        fetch_seconds=(datetime.now(UTC) - started).total_seconds() if started else None,
        context=target.get("context") or {},
        mode=item.get("mode") or "http",
        mode_reason=item.get("mode_reason"),
        attachments=[Attachment(**a) for a in item.get("attachments", [])],
    )


def subresource_inputs(item: dict[str, Any], page_id: int, *, run: dict[str, Any]
                       ) -> list[CaptureInput]:
    """The capture inputs of the sub-resources a browser page loaded (``item["subresources"]``: one
    hop chain each), each tied to the page's row ``page_id``."""
    out = []
    for chain in item.get("subresources") or []:
        hops = [Exchange(**hop) for hop in chain]
        final = hops[-1]
        out.append(CaptureInput(
            url=hops[0].url, captured_at=final.requested_at,
            outcome="captured" if final.status is not None else "failed",
            reason=None if final.status is not None else "error",
            exchanges=hops, final_url=final.url,
            redirect_chain=[{"url": h.url, "status": h.status} for h in hops],
            ignore_robots=bool(run.get("ignore_robots")), allow_private=bool(run.get("allow_private")),
            user_agent=run.get("user_agent"), run_id=run.get("run_id"),
            mode="browser", mode_reason="sub-resource", page_id=page_id))
    return out


class ArchivePipeline:
    """Queues every item on the archive writer; waits for its row to commit only when the writer is
    congested (back-pressure), so the downloader keeps going while a batch is written."""

    def __init__(self, writer: CaptureSink, run: dict[str, Any],
                 media_sink: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.writer = writer
        self.run = run
        self.media_sink = media_sink
        # pages whose requisites are being fetched: the spider's page token -> the page row's future
        self._pages: dict[int, Future[Any]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        """Wire the pipeline from the COLLECTOR_WRITER and COLLECTOR_RUN settings."""
        writer = _WRITERS.get(crawler.settings.get("COLLECTOR_WRITER") or "")
        if writer is None:
            raise NotConfigured("COLLECTOR_WRITER is not set: nothing to archive into")
        return cls(writer, dict(crawler.settings.get("COLLECTOR_RUN") or {}),
                   _MEDIA_SINKS.get(crawler.settings.get("COLLECTOR_MEDIA_SINK") or ""))

    async def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict:
        """Queue the item for archiving; returns a small summary (with the row id when it waited)."""
        if self.writer.error is not None:  # storage failed: stop feeding a writer that is gone
            raise self.writer.error
        capture = to_capture_input(item, run=self.run)
        if item.get("page_of") is not None:  # a page requisite: its row points at the page's row
            capture = dataclasses.replace(capture, page_id=await self._page_id(item["page_of"]))
        future = self.writer.submit(capture)
        if item.get("page_token") is not None:
            self._pages[item["page_token"]] = future
        if item.get("media") and self.media_sink is not None:
            future.add_done_callback(functools.partial(self._media, media=item["media"]))
        if item.get("subresources") and capture.outcome == "captured":
            # a browser page's sub-resources are rows of their own, tied to the page's row
            record = await asyncio.wrap_future(future)
            for sub in subresource_inputs(item, record.id, run=self.run):
                self.writer.submit(sub)
            return {"id": record.id, "url": record.url, "outcome": record.outcome}
        if not self.writer.congested:
            return {"id": None, "url": capture.url, "outcome": capture.outcome}
        record = await asyncio.wrap_future(future)
        return {"id": record.id, "url": record.url, "outcome": record.outcome}


    def _media(self, done: Future[Any], media: list[dict[str, Any]]) -> None:
        """Hand a committed page's embedded media to the sink (a page whose row failed has none)."""
        if done.exception() is None and self.media_sink is not None:
            self.media_sink({"media_of": int(done.result().id), "media": media})

    async def _page_id(self, token: int) -> int | None:
        """The row id of the page a requisite was loaded for (its row is committed first: the page's
        item is queued before its requisites are even requested)."""
        future = self._pages.get(token)
        if future is None:  # cannot happen (see above); the requisite is kept, unlinked
            log.warning("a requisite's page (token %s) was never queued", token)
            return None
        return int((await asyncio.wrap_future(future)).id)


class OwnWriterPipeline(ArchivePipeline):
    """The archive pipeline of a crawl that collector did not start (``scrapy crawl`` in the source
    tree, see ``collector.capture.project``): it starts an archive writer process of its own on the
    COLLECTOR_CONFIG setting's archive when the spider opens, stops it when the spider closes, and
    logs each archived result as a JSON line."""

    def __init__(self, writer: WriterLink, run: dict[str, Any]) -> None:
        super().__init__(writer, run)
        self.link = writer

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OwnWriterPipeline:
        """Wire the pipeline from the COLLECTOR_CONFIG setting (a ``Config``)."""
        config = crawler.settings.get("COLLECTOR_CONFIG")
        if not isinstance(config, Config):
            raise NotConfigured("COLLECTOR_CONFIG is not set: no archive to write into")
        run, info = describe_run(config)
        return cls(WriterLink(config, emit=_log_result, info=info, software=f"collector ({config.ua})"),
                   run)

    def open_spider(self, spider: Spider | None = None) -> None:
        """Start the writer process."""
        self.link.start()
        log.info("archiving into %s", self.link.config.home.resolve())

    def close_spider(self, spider: Spider | None = None) -> None:
        """Let the writer archive and extract everything, then stop it (raises its failure)."""
        self.link.close()


def _log_result(result: dict[str, Any]) -> None:
    log.info("archived %s", json.dumps(result, default=str, ensure_ascii=False))
