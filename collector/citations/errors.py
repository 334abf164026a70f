"""The one error citation parsing raises on purpose."""

from __future__ import annotations

from collector.errors import InputError

__all__ = ["ReportParseError"]


class ReportParseError(InputError):
    """The report cannot be read: empty, binary, undecodable, or a PDF without a text layer.

    The message starts with the file name the caller gave (and the line, where one is relevant).
    """
