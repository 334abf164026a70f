"""Probe URLs: a URL on the same host, shaped like a checked one, that almost surely does not exist.

A site that answers it like the checked page serves soft-404s (see ``collector.check.verdict``).
"""

from __future__ import annotations

import random
import re
import string
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = ["IDENTIFYING_PARAMS", "probe_url"]

# Query parameters that name the content (not the page layout), in priority order: the probe changes
# the first one present. story_fbid before id (Facebook's permalink.php?story_fbid=POST&id=PAGE).
IDENTIFYING_PARAMS = (
    "story_fbid", "fbid", "v", "video_id", "vid", "id", "p", "post", "post_id", "postid", "pid", "article",
    "article_id", "articleid", "aid", "story", "story_id", "storyid", "item", "item_id", "itemid", "nid",
    "sid", "docid", "doc_id", "photo_id", "page_id",
)
_EXTENSION = re.compile(r"^(.+?)(\.[A-Za-z0-9]{1,5})$")


def _reshape(value: str, rng: random.Random) -> str:
    """A random string with ``value``'s shape: digits, lower and upper case letters where it has them."""
    for _ in range(10):
        out = []
        for ch in value:
            if ch.isdigit():
                out.append(rng.choice(string.digits))
            elif ch.isascii() and ch.isupper():
                out.append(rng.choice(string.ascii_uppercase))
            elif ch.isalpha():
                out.append(rng.choice(string.ascii_lowercase))
            else:
                out.append(ch)
        result = "".join(out)
        if result != value:
            return result
    return value + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def _reshape_segment(segment: str, rng: random.Random) -> str:
    raw = unquote(segment)
    match = _EXTENSION.match(raw)
    stem, ext = (match.group(1), match.group(2)) if match else (raw, "")
    return quote(_reshape(stem, rng) + ext, safe="-._~!$&'()*+,;=:@")


def probe_url(url: str, rng: random.Random) -> str:
    """A URL on the same host that almost surely does not exist, shaped like ``url``.

    The first identifying query parameter present (``IDENTIFYING_PARAMS``: ``v`` in ``watch?v=``,
    ``story_fbid``, ``id``, ``p`` ...) gets a random value of the same shape; otherwise the last path
    segment does (same length, same kinds of characters, same extension); a root URL gets a random
    12-letter segment. The fragment is dropped; everything else is kept as it was.
    """
    parts = urlsplit(url)
    pairs = parts.query.split("&") if parts.query else []
    names = [unquote(p.split("=", 1)[0]).lower() for p in pairs]
    for name in IDENTIFYING_PARAMS:
        if name in names:
            i = names.index(name)
            key, _, value = pairs[i].partition("=")
            if value:
                pairs[i] = f"{key}={quote(_reshape(unquote(value), rng), safe='-._~')}"
                return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(pairs), ""))
    segments = parts.path.split("/")
    for i in range(len(segments) - 1, -1, -1):
        if segments[i]:
            segments[i] = _reshape_segment(segments[i], rng)
            path = "/".join(segments)
            break
    else:
        path = "/" + "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
