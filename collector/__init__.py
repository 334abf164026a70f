"""collector: preserve the evidence behind a research report."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``__version__``, read from the package metadata when first asked for (``config.version``)."""
    if name == "__version__":
        from collector.config import version  # here: the package itself imports nothing (PEP 562)

        return version()
    raise AttributeError(f"module 'collector' has no attribute {name!r}")
