"""Storage: WARC files, metadata rows and the queries over them.

Knows SQLAlchemy, warcio and the filesystem; nothing of Scrapy or of the collector package.
"""
