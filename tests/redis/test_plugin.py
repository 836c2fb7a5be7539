"""The plugin as users meet it: found by entry point, `nuvom plugin test redis`, settings, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from nuvom.backends import Envelope
from nuvom.cli.plugin import plugin_app
from nuvom.errors import BackendError, ConfigError
from nuvom_redis.queue import RedisQueue
from nuvom_redis.settings import RedisSettings

from .conftest import connect
from .server import RedisServer, free_port


def test_nuvom_plugin_test_redis_passes_and_leaves_no_key_behind(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_REDIS_URL", redis_url)
    client = redis.Redis.from_url(redis_url)

    result = CliRunner().invoke(plugin_app, ["test", "redis"])

    assert client.keys("nuvom:suite-*") == []
    assert "left nothing behind" in result.output

    assert result.exit_code == 0, result.output
    assert "queue backend conformance: redis" in result.output
    assert "result backend conformance: redis" in result.output
    assert "scheduler backend conformance: redis" in result.output
    # claims read records only for NUVOM_RESULT_BACKEND=redis (tests/redis/test_conformance.py
    # runs those two checks), so here they are skipped
    assert "57 passed, 0 failed, 2 skipped" in result.output
    assert "19 passed, 0 failed, 0 skipped" in result.output
    assert "14 passed, 0 failed, 0 skipped" in result.output


def test_the_plugin_is_found_through_its_entry_point() -> None:
    result = CliRunner().invoke(plugin_app, ["list"], env={"COLUMNS": "200"})  # one line per role

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "redis" in line]
    assert lines and "entry point" in lines[0] and "queue backends: redis" in lines[0], result.output
    assert "result backends: redis" in result.output
    assert "scheduler backends: redis" in result.output


def test_a_bad_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_REDIS_POOL_SIZE", "many")

    with pytest.raises(ConfigError, match="NUVOM_REDIS_POOL_SIZE"):
        RedisSettings.load()


def test_a_producer_gets_a_clear_error_while_redis_is_down(prefix: str) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    queue = RedisQueue(connect(url), prefix=prefix)

    with pytest.raises(BackendError) as caught:
        queue.enqueue(Envelope("j", "default", b"x"))

    message = str(caught.value)
    assert f"redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message and "enqueuing 1 job" in message
    assert "hunter2" not in message
    queue.close()


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory):
    server = RedisServer(tmp_path_factory.mktemp("redis-acl"), password="correct-horse").start()
    yield server
    server.stop()


def test_acl_the_right_password_works(password_server: RedisServer, prefix: str) -> None:
    queue = RedisQueue(connect(password_server.url), prefix=prefix)

    queue.enqueue(Envelope("j", "default", b"x"))
    (lease,) = queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30)
    queue.ack(lease)

    assert lease.id == "j" and queue.qsize() == 0
    queue.close()


@pytest.mark.parametrize("user", ["", "default"])
def test_acl_a_wrong_password_fails_naming_the_url_but_not_the_password(
    password_server: RedisServer, prefix: str, user: str
) -> None:
    url = f"redis://{user}:wrong-pony@127.0.0.1:{password_server.port}/0"
    queue = RedisQueue(connect(url), prefix=prefix)

    with pytest.raises(BackendError) as caught:
        queue.enqueue(Envelope("j", "default", b"x"))
    with pytest.raises(BackendError, match="refused the credentials"):
        queue.pop_batch(1, queues=["default"], timeout=0.1, lease_secs=30)

    message = str(caught.value)
    assert f"redis://{user}:***@127.0.0.1:{password_server.port}/0" in message, message
    assert "refused the credentials" in message and "wrong-pony" not in message
    queue.close()


def test_the_suite_namespace_keeps_checks_apart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NUVOM_REDIS_PREFIX", "app")
    assert RedisSettings.load().key_prefix == "app"

    monkeypatch.setenv("NUVOM_SUITE_NAMESPACE", "suite-1")
    assert RedisSettings.load().key_prefix == "app:suite-1"


def test_nuvom_plugin_test_against_a_closed_port_stops_before_the_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NUVOM_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    result = CliRunner().invoke(plugin_app, ["test", "redis"], env={"COLUMNS": "400"})

    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output  # one line: no table of 36 identical failures
    assert lines[0].startswith("queue suite not run: redis does not answer: BackendError: Redis at")
    assert "is unreachable" in lines[0]
