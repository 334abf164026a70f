"""A capture spider that records the most requests it ever saw waiting in the scheduler, and how often
the scheduler ran empty while targets were still to be handed over."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals

from spiders.capture import CaptureSpider, _scheduler


class CountingSpider(CaptureSpider):
    """CaptureSpider with a small backlog limit, writing its largest scheduler length at close."""

    name = "counting"
    most = 0
    issued = 0
    starved = 0  # scheduler_empty signals between the first target handed over and the last

    def backlog_limit(self) -> int:
        """A limit far below the number of targets, so the pauses show."""
        return int(os.environ.get("COLLECTOR_TEST_BACKLOG", "8"))

    def request_for(self, target: dict[str, Any]) -> scrapy.Request:
        """Note the scheduler's length before each new request."""
        scheduler = _scheduler(self)
        if scheduler is not None:
            self.most = max(self.most, len(scheduler))
        if not self.issued:
            self.crawler.signals.connect(self._empty, signals.scheduler_empty)
        self.issued += 1
        return super().request_for(target)

    def _empty(self) -> None:
        if self.issued < len(list(self.targets)):  # the test's targets are a list
            self.starved += 1

    def closed(self, reason: str) -> None:
        """Write the largest length seen and the starved count to $COLLECTOR_TEST_MOST."""
        Path(os.environ["COLLECTOR_TEST_MOST"]).write_text(f"{self.most} {self.starved}")
