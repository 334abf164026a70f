"""Fixtures of the capture tests: the local "social web" of the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import serve_script

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def social() -> Iterator[str]:
    """The social web (socialweb.py) in a subprocess: its base URL."""
    proc, base = serve_script(HERE / "socialweb.py")
    yield base
    proc.terminate()
    proc.wait(timeout=10)
