"""Fixtures of the capture tests: the local "social web" of the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import served

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def social() -> Iterator[str]:
    """The social web (socialweb.py) in a subprocess: its base URL."""
    with served(HERE / "socialweb.py") as base:
        yield base
