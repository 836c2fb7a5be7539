"""Nuvom without the POSIX-only modules (``fcntl``, ``resource``), as on Windows, and without extras."""

from __future__ import annotations

import textwrap
from pathlib import Path

from .hidden_modules import run_without

POSIX_ONLY = ["fcntl", "resource"]

CHECKS = textwrap.dedent(
    """
    import sys

    import nuvom
    import nuvom.cli.app
    from nuvom import task
    from nuvom.backends.file_queue import FileQueue
    from nuvom.backends.file_scheduler import FileScheduler
    from nuvom.config import get_settings
    from nuvom.errors import NotSupported
    from nuvom.runtime import get_queue, get_results
    from nuvom.testing import drain, eager
    from nuvom.worker import Worker

    assert not {"fcntl", "resource"} & set(sys.modules), "a POSIX-only module was imported"


    @task
    def add(a, b):
        return a + b


    with eager():
        assert add.delay(2, 3).get(timeout=5) == 5
    job = add.delay(4, 5)
    assert type(get_queue()).__name__ == "SqliteQueue"
    assert drain() == 1
    assert job.get(timeout=5) == 9

    for backend in (FileQueue, FileScheduler):
        try:
            backend.from_settings(get_settings())
        except NotSupported as exc:
            print("file:", exc)
        else:
            raise AssertionError(f"{backend.__name__} opened without file locks")
    try:
        Worker(get_settings(), get_queue(), get_results(), pool="processes", max_memory_per_child=64)
    except NotSupported as exc:
        print("memory:", exc)
    else:
        raise AssertionError("--max-memory-per-child accepted without getrusage")
    print("ok")
    """
)


def test_import_sqlite_and_eager_work_without_posix_only_modules(tmp_path: Path) -> None:
    # Given: a Python where fcntl and resource cannot be imported, and the SQLite backends chosen
    env = {f"NUVOM_{role}_BACKEND": "sqlite" for role in ("QUEUE", "RESULT", "SCHEDULER")}
    # When
    proc = run_without(POSIX_ONLY, ["-c", CHECKS], tmp_path, env)
    # Then: import, eager mode and a job through SQLite work; the file backends and the memory
    # limit say what they need instead of failing at import
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "ok"
    assert "file: the file queue backend is not available here: it needs POSIX file locks (fcntl)" in lines[0]
    assert "NUVOM_QUEUE_BACKEND=sqlite" in lines[0]
    assert lines[1].startswith("file: the file scheduler backend is not available here")
    assert lines[2].startswith("memory: --max-memory-per-child is not available here: it reads peak memory")


def test_cli_starts_without_posix_only_modules(tmp_path: Path) -> None:
    proc = run_without(POSIX_ONLY, ["-m", "nuvom", "version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("nuvom ")


def test_runworker_dev_without_the_reload_extra_names_it(tmp_path: Path) -> None:
    # Given: watchfiles (the [reload] extra) is not installed
    (tmp_path / "tasks.py").write_text("from nuvom import task\n\n@task\ndef ping():\n    return 1\n")
    # When
    proc = run_without(["watchfiles"], ["-m", "nuvom", "runworker", "--dev", "--import", "tasks"], tmp_path)
    # Then: one line says what is missing and which extra brings it
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "runworker --dev is not available here: it needs watchfiles" in proc.stderr
    assert "pip install 'nuvom-core[reload]'" in proc.stderr
    assert "Traceback" not in proc.stderr
