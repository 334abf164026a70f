"""How a feed entry without a title is shown: one rendering for every human view.

Machine output (``--json`` lines, webhook payloads) keeps ``null``; human views (``feed poll`` and
``feed entries`` lines) show ``(no title)``. Nothing heavy is imported here (the CLI uses it).
"""

from __future__ import annotations

__all__ = ["NO_TITLE", "display_title"]

NO_TITLE = "(no title)"


def display_title(title: str | None) -> str:
    """An entry's title for people: the title, or ``(no title)`` when it has none (or only spaces)."""
    return title if title and title.strip() else NO_TITLE
