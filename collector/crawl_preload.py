"""Imported by the crawl fork server (``collector.crawlproc``) only: imports what every crawl needs.

Importing this module is its whole purpose; nothing else imports it.
"""

from __future__ import annotations

from collector.crawlproc import warm

__all__: list[str] = []

warm()
