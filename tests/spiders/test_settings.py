"""The Scrapy settings of a capture crawl: what must never be switched on."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list

from collector.capture.scrapy_settings import scrapy_settings
from collector.config import load_config


def test_no_console_or_remote_control_and_only_http_handlers(tmp_path: Path) -> None:
    settings = Settings(scrapy_settings(load_config({"home": tmp_path}, env={})))
    extensions = build_component_list(settings.getwithbase("EXTENSIONS"))
    assert not any("telnet" in e.lower() or "remote_control" in e.lower() for e in extensions)
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    handlers = {k: v for k, v in settings.getwithbase("DOWNLOAD_HANDLERS").items() if v}
    assert set(handlers) == {"http", "https"}


def test_a_crawl_starts_without_collecting_library_versions(tmp_path: Path) -> None:
    """Scrapy would find them (and the platform's, with a ``uname -p`` subprocess) for a log line
    at INFO, which a crawl does not show."""
    settings = Settings(scrapy_settings(load_config({"home": tmp_path}, env={})))
    assert settings.getlist("LOG_VERSIONS") == []


def test_callbacks_are_not_parsed_again_for_every_response(tmp_path: Path) -> None:
    """Scrapy's check for a generator callback that returns a value re-reads and re-parses the
    spider's source at every response (its cache is keyed by the bound method, a new object each
    time): it is off in a capture crawl, and checked here once instead."""
    settings = Settings(scrapy_settings(load_config({"home": tmp_path}, env={})))
    assert settings.getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False


def test_no_spider_callback_is_a_generator_returning_a_value() -> None:
    """What Scrapy's per-response check would have warned of, for every spider callback of ours."""
    from scrapy.utils.misc import is_generator_with_return_value

    from spiders.capture import CaptureSpider
    from spiders.feed import FeedSpider
    from spiders.queued import QueuedCaptureSpider

    for spider in (CaptureSpider, FeedSpider, QueuedCaptureSpider):
        callbacks = [getattr(spider, name) for name in dir(spider)
                     if name.startswith(("parse", "failed", "browser_failed"))]
        assert callbacks
        for callback in callbacks:
            assert not is_generator_with_return_value(callback), f"{spider.__name__}.{callback.__name__}"
