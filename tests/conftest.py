"""Shared fixtures: a private redis-server per test session (never port 6379)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from pipelint.server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture()
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client on a flushed database of our own private server."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()
