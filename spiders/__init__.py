"""Scrapy spiders and the downloader components they need (no database, no import side effects)."""
