"""The ACL recipe of docs/backends/redis.md, run as written: every part of Nuvom works over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
import redis

from nuvom import runtime

from ..e2e.helpers import WorkerProcess, executions, wait_until
from .conftest import assert_plugin_test_passes
from .server import RedisServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "backends" / "redis.md"


def documented_acl() -> list[str]:
    """The one ``ACL SETUSER`` line of the doc, as command words."""
    lines = [line.strip() for line in DOC.read_text().splitlines() if line.strip().startswith("ACL SETUSER ")]
    assert len(lines) == 1, f"expected one ACL SETUSER recipe in {DOC}, found {lines}"
    return lines[0].split()


@pytest.fixture
def acl_url(tmp_path: Path) -> Iterator[str]:
    """A server of this test's own with the documented user; the URL logs in as that user."""
    server = RedisServer(tmp_path / "acl").start()
    words = documented_acl()
    admin = redis.Redis(port=server.port)
    admin.execute_command(*words)
    admin.close()
    user = words[2]
    (password,) = [w[1:] for w in words if w.startswith(">")]
    yield f"redis://{user}:{password}@127.0.0.1:{server.port}/0"
    server.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_documented_acl_user_runs_producers_workers_the_scheduler_and_the_plugin_check(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    acl_url: str,
    isolated_nuvom: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given everything pointed at the documented user, with the default key prefix
    env = {"NUVOM_REDIS_URL": acl_url, "NUVOM_REDIS_PREFIX": "nuvom", "NUVOM_SCHEDULER_BACKEND": "redis"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runtime.reset()

    # When a producer sends, a worker with a scheduler runs, and a schedule fires
    job = project.add.delay(2, 3)
    worker = start_worker("--with-scheduler", env=env)
    project.nothing.schedule("fired-over-acl", in_=timedelta(milliseconds=200))

    # Then the job's result comes back, the schedule's job runs, and nothing was refused
    assert job.get(timeout=60) == 5
    exec_log = isolated_nuvom / "executions.log"
    wait_until(lambda: executions(exec_log, "nothing")["fired-over-acl"] == 1, 60, "the scheduled job to run")
    worker.stop(timeout=30)
    assert "NOPERM" not in worker.output() and "no permissions" not in worker.output()

    # And the conformance suite passes over the same user
    assert_plugin_test_passes(isolated_nuvom, env, timeout=150)
