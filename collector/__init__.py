"""collector: preserve the evidence behind a research report."""

from collector.config import VERSION as __version__

__all__ = ["__version__"]
