"""Flow-control fixtures: a task module with limits, imported here and by real worker processes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ..backend_fixtures import backend, optional_redis_server  # noqa: F401
from ..e2e.helpers import WorkerProcess

TASKS = """
import os
import time
from pathlib import Path

from nuvom import current_job, task

LOG = Path(os.environ["FLOW_LOG"])


def log(*fields):
    # One short O_APPEND write per line: lines from concurrent writers never interleave.
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (" ".join(str(f) for f in fields) + "\\n").encode())
    finally:
        os.close(fd)


def lines(kind):
    return [line.split() for line in LOG.read_text().splitlines() if line.startswith(kind + " ")] if LOG.exists() else []


@task(rate_limit="20/s")
def limited(i):
    log("limited", i, repr(time.time()))


@task(concurrency_limit=1, limit_key="customer")
def per_customer(customer, i, secs=0.2, hang_once=False):
    first = not any(f[1:3] == [customer, str(i)] for f in lines("start"))
    log("start", customer, i, repr(time.time()), os.getpid())
    time.sleep(60 if hang_once and first else secs)
    log("end", customer, i, repr(time.time()))


@task(rate_limit="2/s")
def slow_lane(i):
    log("slow", i)


@task
def fast_lane(i):
    log("fast", i)


@task
def tick():
    log("tick", current_job().id)
"""


@pytest.fixture
def flow_log(isolated_nuvom: Path) -> Path:
    return isolated_nuvom / "flow.log"


@pytest.fixture
def tasks(isolated_nuvom: Path, flow_log: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The task module, written into the test's folder and imported here as the workers do."""
    (isolated_nuvom / "flow_tasks.py").write_text(TASKS)
    monkeypatch.setenv("FLOW_LOG", str(flow_log))
    monkeypatch.syspath_prepend(str(isolated_nuvom))
    sys.modules.pop("flow_tasks", None)
    import flow_tasks  # type: ignore[import-not-found]

    yield flow_tasks
    sys.modules.pop("flow_tasks", None)


@pytest.fixture
def start_worker(isolated_nuvom: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``nuvom runworker`` processes serving ``flow_tasks``; each is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(isolated_nuvom, *args, env=env, module="flow_tasks")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10)
