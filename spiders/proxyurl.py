"""A proxy URL as it may be recorded: without the credentials it may carry (no heavy imports: the
caller describes a run before Scrapy is imported)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["public_proxy_url"]


def public_proxy_url(proxy: str | bytes | None) -> str | None:
    """``proxy`` without user name and password (``http://u:pw@host:3128`` -> ``http://host:3128``);
    None for no proxy."""
    if not proxy:
        return None
    text = proxy.decode("latin-1") if isinstance(proxy, bytes) else str(proxy)
    parts = urlsplit(text if "://" in text else f"http://{text}")
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
