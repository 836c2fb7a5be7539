"""A real 3-master Redis Cluster for this package's tests; the Redis fixtures use its URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..server import RedisCluster


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    started = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    yield started
    started.stop()


@pytest.fixture
def redis_url(redis_cluster: RedisCluster) -> str:
    return redis_cluster.url()
