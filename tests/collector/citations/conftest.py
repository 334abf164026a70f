"""Fixtures for the citation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .samples import REPORTS


@pytest.fixture
def reports() -> Path:
    """The folder of sample reports written for these tests."""
    return REPORTS
