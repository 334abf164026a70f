"""Politeness at the start of a crawl: robots.txt does not hold the host's first page back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# a fresh process: the Scrapy engine needs a reactor installed, and a process installs one once
PROBE = """
import time
from pathlib import Path
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy import Request, Spider
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.test import get_crawler
from collector.capture.scrapy_settings import scrapy_settings
from spiders.politeness import PoliteThrottle
from tests.conftest import make_config

config = make_config(Path("unused"), autothrottle_start_delay=3600.0, autothrottle_max_delay=3600.0)
crawler = get_crawler(Spider, scrapy_settings(config))
crawler._apply_settings()
crawler.spider = crawler._create_spider("probe")
crawler.engine = crawler._create_engine()
throttle = PoliteThrottle(crawler)
throttle._spider_opened(crawler.spider)
downloader = crawler.engine.downloader
for robots_txt in (b"User-agent: *\\nDisallow: /x\\n", b"User-agent: *\\nCrawl-delay: 5\\n"):
    robots = Request("http://example.org/robots.txt")
    _, slot = downloader._get_slot(robots)
    slot.lastseen = time.monotonic()  # robots.txt was just fetched
    downloader._process_queue(slot)  # the downloader set a wake-up for the start delay
    waking = slot.latercall is not None
    throttle._robots_parsed(ProtegoRobotParser.from_crawler(crawler, robots_txt), robots)
    free = time.monotonic() - slot.lastseen > 1.5 * slot.delay
    print(waking, free, slot.latercall is None, slot.delay)
    downloader.slots.clear()
"""


def test_the_first_page_does_not_wait_the_start_delay_behind_robots_txt() -> None:
    """Parsed robots.txt without Crawl-delay: the host's slot may send its next request now (it
    waited AutoThrottle's start delay, 1 s by default, behind robots.txt). With a Crawl-delay, the
    page still waits that delay behind robots.txt."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True True True 3600.0", "True False False 3600.0"]
