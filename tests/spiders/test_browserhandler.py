"""The browser download handler's quieting of scrapy-playwright's per-request loggers."""

from __future__ import annotations

import logging
import uuid

import pytest

from spiders.browserhandler import quiet_below


def _fresh_logger() -> logging.Logger:
    return logging.getLogger(f"test-quiet-{uuid.uuid4().hex}")


@pytest.mark.parametrize("level", ["ERROR", "error", logging.ERROR, "INFO"])
def test_a_logger_below_the_crawls_level_is_raised_to_it(level: str | int) -> None:
    logger = _fresh_logger()
    logger.setLevel(logging.DEBUG)  # as in a crawl: Scrapy's root logger lets everything through
    quiet_below(logger, level)
    expected = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    assert logger.getEffectiveLevel() == expected
    # scrapy-playwright attaches its request and response loggers only at DEBUG
    assert logger.getEffectiveLevel() > logging.DEBUG


@pytest.mark.parametrize("level", ["DEBUG", None, "NOT-A-LEVEL"])
def test_a_debug_or_unknown_level_leaves_the_logger_as_it_is(level: str | None) -> None:
    logger = _fresh_logger()
    logger.setLevel(logging.DEBUG)
    before = logger.getEffectiveLevel()
    quiet_below(logger, level)
    assert logger.getEffectiveLevel() == before


def test_a_logger_set_higher_is_not_lowered() -> None:
    logger = _fresh_logger()
    logger.setLevel(logging.CRITICAL)
    quiet_below(logger, "ERROR")
    assert logger.level == logging.CRITICAL
