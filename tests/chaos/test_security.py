"""Security promises as tests: no code from payloads, loopback by default, no secrets in logs."""

from __future__ import annotations

import ast
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nuvom import get_job
from nuvom.errors import JobFailed
from nuvom.record import ErrorInfo, JobRecord, JobStatus
from nuvom.runtime import get_results

from ..e2e.helpers import wait_until
from .conftest import Backend, start_redis
from .harness import Process

pytestmark = pytest.mark.chaos

REPO = Path(__file__).resolve().parents[2]
#: Modules that turn bytes into code or objects of any class.
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"}
FORBIDDEN_CALLS = {"eval", "exec", "__import__"}


def test_no_package_source_unpickles_or_evaluates_anything() -> None:
    sources = sorted(REPO.glob("nuvom-*/src/**/*.py"))
    assert len({p.parts[len(REPO.parts)] for p in sources}) >= 4, "expected every package's src/"
    offenders = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names = {node.func.id} & FORBIDDEN_CALLS
            else:
                continue
            if names & (FORBIDDEN_MODULES | FORBIDDEN_CALLS):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_the_prometheus_exporter_binds_loopback_by_default() -> None:
    from nuvom_prometheus.exporter import PrometheusSettings, start_exporter

    exporter = start_exporter(PrometheusSettings(prometheus_port=0))
    try:
        assert exporter._server.server_address[0] == "127.0.0.1"  # type: ignore[attr-defined]
    finally:
        exporter.stop()


def test_a_stored_error_is_data_never_an_imported_exception_class(
    make_backend: Callable[..., Backend],
) -> None:
    # Given a failed record whose error names a class in a module nobody imported
    make_backend("file")
    error = ErrorInfo("chaos_never_imported.Boom", "boom", "Traceback: ...")
    get_results().save(
        JobRecord("forged", "double", "default", JobStatus.FAILED, b"\x90", b"\x80", time.time(), error=error)
    )

    # When a client waits for it, Then it gets JobFailed carrying the name as text
    with pytest.raises(JobFailed) as caught:
        get_job("forged").get(timeout=5)
    assert caught.value.error_type == "chaos_never_imported.Boom"
    assert "chaos_never_imported" not in sys.modules


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_redis_url_with_acl_credentials_is_never_logged_in_clear(
    make_backend: Callable[..., Backend], isolated_nuvom: Path
) -> None:
    # Given a Redis server with an ACL user, and a worker logging everything, given its URL
    secret = "s3cret-Pw-7731"
    server = start_redis(isolated_nuvom / "acl")
    server.extra += ["--user", "nuvom", "on", f">{secret}", "~*", "&*", "+@all"]
    server.restart()
    backend = make_backend("redis")
    url = f"redis://nuvom:{secret}@127.0.0.1:{server.port}/0"
    env = {**backend.env, "NUVOM_REDIS_URL": url, "NUVOM_LOG_LEVEL": "DEBUG"}
    worker = Process(isolated_nuvom, env, "--concurrency", "1")
    wrong = Process(isolated_nuvom, {**env, "NUVOM_REDIS_URL": url.replace(secret, "not-" + secret[:4])})

    # When it works, and then the server goes away, so that connection errors are logged
    wait_until(lambda: "started" in worker.output(), 30, "the worker to start")
    wait_until(lambda: "rror" in wrong.output() or wrong.proc.poll() is not None, 30, "an auth error")
    server.stop()
    # every outage message, whichever path meets it, reads "Redis at <redacted url> is unreachable"
    wait_until(lambda: "is unreachable" in worker.output(), 30, "a logged connection error")
    worker.stop(timeout=30)
    wrong.stop(timeout=30)

    # Then neither its output nor the one of a worker with a wrong password shows the password
    for proc in (worker, wrong):
        assert secret not in proc.output(), proc.output()[-2000:]


def modes_that_are_not_private(root: Path) -> dict[str, str]:
    """Folders under ``root`` (itself included) that are not 0700, and files that are not 0600."""
    found = [root, *root.rglob("*")]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in found}
    return {str(p): oct(m) for p, m in modes.items() if m != (0o700 if p.is_dir() else 0o600)}


def test_the_file_backends_keep_jobs_private_whatever_the_umask(tmp_path: Path) -> None:
    """Folders 0700 and files 0600, a quarantine's ``.reason`` too: other local users read no jobs."""
    from nuvom.backends.file_queue import FileQueue
    from nuvom.backends.file_results import FileResults
    from nuvom.backends.file_scheduler import FileScheduler
    from nuvom.testing.suite.results import record
    from nuvom.testing.suite.scheduler import schedule
    from nuvom.testing.suite.support import env

    data = tmp_path / "data"
    previous = os.umask(0o002)  # the most permissive umask in common use
    try:
        queue = FileQueue(data / "queue")
        queue.enqueue_many([env("now"), env("later", eta=time.time() + 3600, queue="other", priority=5)])
        # an unreadable entry (itself private), which the claim below quarantines with a .reason file
        unreadable = data / "queue" / "ready" / "default" / "0" / f"0-{0:019d}~unreadable~0~0"
        unreadable.touch(mode=0o600)
        unreadable.write_bytes(b"\xc1 not an entry")
        queue.extend(queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30)[0], 60)
        results = FileResults(data / "results")
        results.save(record("saved"))
        assert results.save_new(record("created"))
        schedules = FileScheduler(data / "schedules")
        schedules.add(schedule("nightly"))
    finally:
        os.umask(previous)

    assert len(list((data / "queue" / "quarantine").glob("*.reason"))) == 1
    # entries, lease, owner lock, quarantined entry and its reason, records, schedule
    assert len([p for p in data.rglob("*") if p.is_file()]) >= 8
    assert modes_that_are_not_private(data) == {}


def test_a_sqlite_database_nuvom_creates_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """Its folder 0700; ``nuvom.db`` and its -wal and -shm files 0600."""
    from nuvom.testing.suite.results import record
    from nuvom.testing.suite.support import env
    from nuvom_sqlite import SqliteQueue, SqliteResults

    data = tmp_path / "data"
    previous = os.umask(0o002)
    try:
        queue = SqliteQueue(data / "nuvom.db")
        queue.enqueue_many([env("now")])
        results = SqliteResults(data / "nuvom.db")
        results.save(record("saved"))
        names = sorted(p.name for p in data.iterdir())
        wrong = modes_that_are_not_private(data)  # while open: -wal and -shm exist
        queue.close()
        results.close()
    finally:
        os.umask(previous)

    assert names == ["nuvom.db", "nuvom.db-shm", "nuvom.db-wal"]
    assert wrong == {}
