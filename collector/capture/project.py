"""The settings module of the Scrapy project in the source tree (``scrapy.cfg``).

collector runs Scrapy itself (``collector.capture.run``); this module lets Scrapy's own commands work
in the source tree with the same spiders and settings: ``scrapy list`` lists the spiders, and
``scrapy crawl capture -a url=URL`` (several URLs: separated by spaces) captures through the same
spider, middlewares and archive writer as ``collector capture``, into the archive of the configuration
(``COLLECTOR_HOME``, default ``./collector-data``; ``COLLECTOR_DATABASE_URL`` ...), and logs each
archived result. Its safety defaults hold too: a private address is refused unless
``COLLECTOR_ALLOW_PRIVATE=1``.

Scrapy reads the upper-case names of this module: they are the settings of ``scrapy_settings`` under
the configuration loaded from the config file and the environment.
"""

from __future__ import annotations

from typing import Any

from collector.capture.scrapy_settings import scrapy_settings
from collector.config import load_config

__all__: list[str] = []


def _settings() -> dict[str, Any]:
    config = load_config()
    return scrapy_settings(
        config,
        SPIDER_MODULES=["spiders"],
        NEWSPIDER_MODULE="spiders",
        COLLECTOR_CONFIG=config,
        ITEM_PIPELINES={"collector.capture.pipeline.OwnWriterPipeline": 300},
        LOG_LEVEL="INFO",  # a developer's command: show the crawl as Scrapy does
    )


globals().update(_settings())
