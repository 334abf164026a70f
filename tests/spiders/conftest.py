"""Fixtures of the spiders' tests that use Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.workers.conftest import redis_or_skip


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own, deleted afterwards (the test is skipped without Redis)."""
    server = redis_or_skip()
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(server.scan_iter(f"{name}:*"))
    if keys:
        server.delete(*keys)
    server.close()
