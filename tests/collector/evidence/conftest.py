"""Fixtures of the evidence tests: a local RFC 3161 TSA (tests/collector/evidence/tsa.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.evidence.tsa import Tsa, start_tsa


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[Tsa]:
    """A running local TSA (``openssl ts -reply`` over HTTP) with its own test CA."""
    running = start_tsa(tmp_path / "tsa")
    yield running
    running.stop()
