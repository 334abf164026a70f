"""The ``collector`` command line (entry point ``collector.cli:main``)."""

from collector.cli.main import cli, main

__all__ = ["cli", "main"]
