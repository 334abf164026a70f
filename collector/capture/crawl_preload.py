"""Imported by the crawl fork server (``collector.capture.crawlproc``) only: imports what every crawl needs.

Importing this module is its whole purpose; nothing else imports it. The heap is then frozen
(``gc.freeze()``): the collector never visits the preloaded objects again, so a forked crawl child
does not copy every page of them by merely running a collection.
"""

from __future__ import annotations

import gc

from collector.capture.crawlproc import warm

__all__: list[str] = []

warm()
gc.collect()
gc.freeze()
