"""Fixtures for every tier."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.redis.server import RedisServer, redis_executable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A ``redis-server`` of this test's own, on a free 127.0.0.1 port, persistence off."""
    with RedisServer(redis_executable(), tmp_path) as server:
        yield server
