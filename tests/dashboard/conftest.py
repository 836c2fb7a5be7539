"""Dashboard fixtures: a task module, the backend of each test, and a logged-in or anonymous client."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from starlette.testclient import TestClient

from nuvom_dashboard import DashboardConfig, create_app

from .. import backend_fixtures
from ..e2e.helpers import WorkerProcess

# run each test on file, SQLite and Redis (see tests/backend_fixtures.py)
backend = backend_fixtures.backend
optional_redis_server = backend_fixtures.optional_redis_server

TOKEN = "dashboard-test-token"

TASKS_MODULE = """
import time
from pathlib import Path

from nuvom import task


@task(tags=["math"], description="Add two numbers")
def add(a, b):
    return a + b


@task
def boom(flag):
    if not Path(flag).exists():
        raise ValueError(f"boom: {flag} is missing")
    return "recovered"


@task
def wait_for(flag):
    deadline = time.monotonic() + 60
    while not Path(flag).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return "released"


@task(sensitive=True)
def secret(password):
    return f"hashed-{password}"
"""


@pytest.fixture
def tasks(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The dashboard test tasks, written to the working directory and imported here."""
    (isolated_nuvom / "dash_tasks.py").write_text(TASKS_MODULE)
    monkeypatch.syspath_prepend(str(isolated_nuvom))
    sys.modules.pop("dash_tasks", None)
    import dash_tasks  # type: ignore[import-not-found]

    yield dash_tasks
    sys.modules.pop("dash_tasks", None)


@pytest.fixture
def start_worker(isolated_nuvom: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``nuvom runworker --import dash_tasks`` (or another command); stopped at the end."""
    started: list[WorkerProcess] = []

    def start(*args: str, command: str = "runworker", env: dict[str, str] | None = None) -> WorkerProcess:
        process = WorkerProcess(isolated_nuvom, *args, command=command, module="dash_tasks", env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop(timeout=10)


def burst(start_worker: Callable[..., WorkerProcess]) -> None:
    """Run a burst worker until the queues are drained."""
    worker = start_worker("--burst")
    code = worker.wait(timeout=60)
    assert code == 0, f"a burst worker must exit 0 once drained, got {code}:\n{worker.output()}"


def login(client: TestClient, token: str = TOKEN) -> str:
    """Open a session with ``token``; return the session's CSRF token read from a page."""
    response = client.post("/login", data={"token": token, "next": "/jobs"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/jobs").text)


def csrf_of(page: str) -> str:
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A client of a dashboard whose actions are on (token :data:`TOKEN`), not yet logged in."""
    with TestClient(create_app(DashboardConfig(token=TOKEN))) as test_client:
        yield test_client


def answers(url: str) -> bool:
    """True when ``url`` answers 200 (a started server is ready)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
