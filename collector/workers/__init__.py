"""Capture workers on many machines: the queue (Redis, scrapy-redis), the job ledger (the database)."""
