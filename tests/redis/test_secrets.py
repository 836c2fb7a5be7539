"""The Redis password never prints, in the user info of the URL or in a ``?password=`` parameter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import runtime
from nuvom.errors import BackendError

from ..e2e.helpers import WorkerProcess, wait_until
from .server import RedisServer

SECRET = "s3cr3t-PA55word"


@pytest.fixture
def locked_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own that asks for ``SECRET``."""
    server = RedisServer(tmp_path / "locked", password=SECRET).start()
    yield server
    server.stop()


@pytest.mark.parametrize("form", ["userinfo", "query"])
def test_nuvom_config_never_prints_the_redis_password(tmp_path: Path, form: str) -> None:
    url = {
        "userinfo": f"redis://app:{SECRET}@10.1.2.3:6380/2",
        "query": f"redis://10.1.2.3:6380/2?password={SECRET}&db=2",
    }[form]
    env = {**os.environ, "NUVOM_REDIS_URL": url, "COLUMNS": "400"}  # wide: a wrapped URL would hide nothing

    shown = subprocess.run(
        [sys.executable, "-m", "nuvom", "config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    assert url.replace(SECRET, "***") in shown.stdout


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_password_query_parameter_never_shows_in_worker_logs_or_delay_errors(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    locked_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a worker logging everything, given a URL with ?password=
    url = f"redis://127.0.0.1:{locked_server.port}/0?password={SECRET}"
    monkeypatch.setenv("NUVOM_REDIS_URL", url)
    runtime.reset()
    job = project.add.delay(1, 2)
    worker = start_worker(env={"NUVOM_REDIS_URL": url, "NUVOM_LOG_LEVEL": "DEBUG"})
    assert job.get(timeout=30) == 3

    # When the server goes away, so that the worker and a producer meet errors
    locked_server.stop()
    with pytest.raises(BackendError) as caught:
        project.add.delay(3, 4)
    wait_until(lambda: "is unreachable" in worker.output(), 30, "a logged connection error")
    worker.stop(timeout=30)

    # Then neither the error nor the log shows the password; both show where Redis is
    assert SECRET not in str(caught.value) and "password=***" in str(caught.value)
    assert SECRET not in worker.output() and "password=***" in worker.output()
