"""``backend``: a test run once on each persistent backend, with real servers and files.

Import both fixtures into a conftest or test module to use them:
``from ..backend_fixtures import backend, optional_redis_server  # noqa: F401``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from nuvom import runtime

from .redis.server import REDIS_SERVER, RedisServer


@pytest.fixture(scope="session")
def optional_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    """One redis-server for the Redis cases (``None`` without redis-server: they skip)."""
    if REDIS_SERVER is None:
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(params=["file", "sqlite", "redis"])
def backend(
    request: pytest.FixtureRequest, optional_redis_server: RedisServer | None, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The queue, result and scheduler backend of the test, in the environment workers inherit."""
    name: str = request.param
    if name == "redis":
        if optional_redis_server is None:
            pytest.skip("redis-server is not installed")
        monkeypatch.setenv("NUVOM_REDIS_URL", optional_redis_server.url)
        monkeypatch.setenv("NUVOM_REDIS_PREFIX", f"t-{uuid.uuid4().hex[:8]}")
    for kind in ("QUEUE", "RESULT", "SCHEDULER"):
        monkeypatch.setenv(f"NUVOM_{kind}_BACKEND", name)
    runtime.reset()
    return name
