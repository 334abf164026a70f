"""Scrapy settings, derived from the one Config in one place."""

from __future__ import annotations

from typing import Any

from collector.capture.browser import BROWSER_HANDLER, browser_settings
from collector.config import Config

__all__ = ["scrapy_settings"]

# Only http and https: file:, data:, ftp: and s3: handlers are switched off so that a typed-in
# file:///etc/passwd can never be read.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None,
                     "http": "spiders.handler.PooledHTTPDownloadHandler",
                     "https": "spiders.handler.PooledHTTPDownloadHandler"}

# Scrapy's own extensions a crawl runs. Scrapy imports every extension named in EXTENSIONS_BASE,
# even one switched off with None; naming only these keeps the telnet console (Twisted Conch), the
# remote control (aiohttp, ~10 MB), the feed exporter and the job-state ones out of the process.
EXTENSIONS_BASE = {
    "scrapy.extensions.corestats.CoreStats": 0,
    "scrapy.extensions.logcount.LogCount": 0,
    "scrapy.extensions.memusage.MemoryUsage": 0,
    "scrapy.extensions.closespider.CloseSpider": 0,
    "scrapy.extensions.logstats.LogStats": 0,
}


def scrapy_settings(config: Config, **overrides: Any) -> dict[str, Any]:
    """The Scrapy settings dict for a capture crawl under ``config``."""
    settings: dict[str, Any] = {
        "BOT_NAME": "collector",
        "USER_AGENT": config.ua,
        "ROBOTSTXT_OBEY": config.obey_robots,
        "ROBOTSTXT_USER_AGENT": "collector",
        "CONCURRENT_REQUESTS": config.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.per_host_concurrency,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        "DOWNLOAD_DELAY": config.download_delay,
        "AUTOTHROTTLE_ENABLED": config.autothrottle,
        "AUTOTHROTTLE_START_DELAY": config.autothrottle_start_delay,
        "AUTOTHROTTLE_MAX_DELAY": config.autothrottle_max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(config.per_host_concurrency),
        "DOWNLOAD_TIMEOUT": config.download_timeout,
        "REDIRECT_MAX_TIMES": config.max_redirects,
        "DOWNLOAD_MAXSIZE": config.max_body_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "COLLECTOR_MAX_HEADER_BYTES": config.max_header_bytes,
        "COLLECTOR_MAX_HEADERS": config.max_headers,
        "RETRY_TIMES": config.retry_times,
        "RETRY_BACKOFF_BASE": config.retry_backoff,
        "RETRY_BACKOFF_MAX": config.autothrottle_max_delay,
        "RETRY_GIVE_UP_LOG_LEVEL": "DEBUG",
        "HTTPERROR_ALLOW_ALL": True,
        "DOWNLOAD_HANDLERS": DOWNLOAD_HANDLERS,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy 2.19 starts an HTTP server that runs code sent to it, in every crawl: never here
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_ENABLED": True,
        "LOG_LEVEL": "ERROR",
        # Scrapy logs the versions of its libraries at start (INFO, not shown here) and finds the
        # platform's with a ``uname -p`` subprocess: ~50 ms of every crawl for a line nobody sees
        "LOG_VERSIONS": [],
        # Scrapy checks each response's callback for a generator that returns a value, and caches the
        # answer by the callback; a bound method (``self.parse``) is a new object at every call, so the
        # cache never hits and the spider's source is read and parsed again per response (~1-3 ms of
        # the crawl process's CPU per page, more than the JS-shell check); tests/spiders check our
        # callbacks once instead
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "DNSCACHE_ENABLED": True,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "COLLECTOR_ALLOW_PRIVATE": config.allow_private,
        # https: every response's chain is verified and recorded (spiders.tls); refused only with this
        "COLLECTOR_TLS_VERIFY": config.tls_verify,
        "COLLECTOR_TLS_CA_FILE": str(config.tls_ca_file) if config.tls_ca_file else None,
        # page requisites (spiders.capture): fetched with each HTML page, within these limits
        "COLLECTOR_REQUISITES": config.requisites and config.requisites_max > 0,
        "COLLECTOR_REQUISITES_MAX": config.requisites_max,
        "COLLECTOR_REQUISITES_MAX_BYTES": config.requisites_max_bytes,
        # the <video>/<audio> of pages, handed back for collector.capture.media (after the crawl)
        "COLLECTOR_MEDIA_EMBEDDED": config.media != "never",
        "EXTENSIONS_BASE": EXTENSIONS_BASE,
        # the telnet console, the remote control and AutoThrottle are not in EXTENSIONS_BASE (naming
        # them here, even as None, would import them); PoliteThrottle replaces AutoThrottle
        "EXTENSIONS": {"spiders.politeness.PoliteThrottle": 0},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "spiders.metarefresh.HeadMetaRefreshMiddleware": 580,
            "spiders.retry.BackoffRetryMiddleware": 550,
            "spiders.robots.RobotsMiddleware": 100,
            "spiders.safety.PrivateAddressMiddleware": 960,
            "spiders.capture.RequisiteBudgetMiddleware": 970,  # after the SSRF guard's refusal
            "spiders.recording.RecordingMiddleware": 990,
            # after the recording one on the way back: an untrusted response is archived, then refused
            "spiders.tls.TLSVerifyMiddleware": 985,
        },
        "ITEM_PIPELINES": {"collector.capture.pipeline.ArchivePipeline": 300},
        # per response: each response yields exactly one item, and Scrapy starts this many tasks
        "CONCURRENT_ITEMS": 1,
    }
    # browser capture (collector.capture.browser): its handler serves plain requests too
    settings["COLLECTOR_ALLOW_HOSTS"] = config.allow_host_list
    settings.update(browser_settings(config))
    if settings["COLLECTOR_BROWSER"] != "never":
        settings["DOWNLOAD_HANDLERS"] = {**DOWNLOAD_HANDLERS, "http": BROWSER_HANDLER,
                                         "https": BROWSER_HANDLER}
    settings.update(overrides)
    return settings
