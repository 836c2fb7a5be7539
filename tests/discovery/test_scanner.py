"""The scanner finds ``@task`` functions by reading source: which decorators count, what is pruned."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom.discovery import DiscoveredTask, ScanError, ScanResult, scan

from .conftest import PRUNED_FILES

FIXTURE_TASKS = {
    ("tasks", "bare", "bare"),
    ("tasks", "send_email", "emails.send"),
    ("tasks", "dynamic_options", "dynamic_options"),
    ("aliases", "aliased", "aliased"),
    ("aliases", "via_module_alias", "via_module_alias"),
    ("aliases", "via_module", "reports.full"),
    ("app.workers", "package_task", "package_task"),
    ("app.workers.reports", "daily_report", "reports.daily"),
    ("mypkg.sub.jobs", "nested", "nested"),
    ("cron", "cleanup", "cleanup"),
    ("keep", "kept", "kept"),
    ("shadowed", "before_shadowing", "before_shadowing"),
}


def triples(result: ScanResult) -> set[tuple[str, str, str]]:
    return {(t.module, t.function, t.name) for t in result.tasks}


def by_name(result: ScanResult) -> dict[str, DiscoveredTask]:
    return {t.name: t for t in result.tasks}


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_fixture_project_finds_exactly_the_nuvom_tasks(project: Path) -> None:
    result = scan(project)

    assert triples(result) == FIXTURE_TASKS
    assert result.errors == (ScanError("broken.py", 4, "syntax error: invalid syntax"),)


def test_fixture_project_files_scanned(project: Path) -> None:
    result = scan(project)

    # Nothing under a pruned folder or matched by .nuvomignore is even read.
    assert set(result.manifest.files) == {
        "aliases.py",
        "app/__init__.py",
        "app/workers/__init__.py",
        "app/workers/reports.py",
        "broken.py",
        "generated/keep.py",
        "others.py",
        "scripts/cron.py",
        "shadowed.py",
        "src/mypkg/__init__.py",
        "src/mypkg/sub/__init__.py",
        "src/mypkg/sub/jobs.py",
        "tasks.py",
    }
    assert not set(PRUNED_FILES) & set(result.manifest.files)
    assert result.scanned_files == result.parsed_files == 13


def test_records_line_async_import_root_and_literal_options(project: Path) -> None:
    tasks = by_name(scan(project))

    send = tasks["emails.send"]
    assert (send.path, send.line, send.is_async, send.import_root) == ("tasks.py", 19, True, ".")
    assert (send.queue, send.retries, send.timeout_secs, send.tags, send.description) == (
        "mail",
        3,
        30.0,
        ("io", "mail"),
        "Send one email.",
    )
    # Non-literal options are left out rather than guessed.
    dynamic = tasks["dynamic_options"]
    assert (dynamic.queue, dynamic.retries) == (None, None)
    assert tasks["reports.daily"].tags == ("daily",)
    nested = tasks["nested"]
    assert (nested.import_root, nested.is_async, nested.retries, nested.origin) == (
        "src",
        True,
        2,
        "mypkg.sub.jobs:nested",
    )
    assert tasks["bare"].is_async is False
    assert scan(project).import_roots() == [
        project,
        project / "scripts",
        project / "generated",
        project / "src",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from nuvom import task\n@task\ndef f(): pass\n",
        "from nuvom import task\n@task()\ndef f(): pass\n",
        "from nuvom.task import task as t\n@t(queue='q')\ndef f(): pass\n",
        "from nuvom import *\n@task\ndef f(): pass\n",
        "import nuvom\n@nuvom.task\ndef f(): pass\n",
        "import nuvom.task\n@nuvom.task(retries=1)\ndef f(): pass\n",
        "import nuvom as nv\n@nv.task()\nasync def f(): pass\n",
        "import nuvom.task as nt\n@nt.task\ndef f(): pass\n",
        "try:\n    from nuvom import task\nexcept ImportError:\n    pass\n@task\ndef f(): pass\n",
        "import functools\nfrom nuvom import task\n@functools.cache\n@task\ndef f(): pass\n",
        "from nuvom import task\nif True:\n    @task\n    def f(): pass\n",
    ],
)
def test_decorator_forms_taken(tmp_path: Path, source: str) -> None:
    write(tmp_path, "mod.py", source)

    assert triples(scan(tmp_path)) == {("mod", "f", "f")}


@pytest.mark.parametrize(
    "source",
    [
        "from celery import task\n@task\ndef f(): pass\n",
        "from other import nuvom\n@nuvom.task\ndef f(): pass\n",
        "from .nuvom import task\n@task\ndef f(): pass\n",
        "import nuvom\n@nuvom.tasks\ndef f(): pass\n",
        "import nuvom as nv\n@nuvom.task\ndef f(): pass\n",
        "from nuvom import task as job\n@task\ndef f(): pass\n",
        "from nuvom import task\nfrom celery import task\n@task\ndef f(): pass\n",
        "from nuvom import task\nclass C:\n    @task\n    def f(self): pass\n",
        "from nuvom import task\ndef outer():\n    @task\n    def f(): pass\n",
        "@task\ndef f(): pass\n",
    ],
)
def test_decorator_forms_not_taken(tmp_path: Path, source: str) -> None:
    write(tmp_path, "mod.py", source)

    assert scan(tmp_path).tasks == ()


def test_module_names_follow_packages_and_src_layout(tmp_path: Path) -> None:
    body = "from nuvom import task\n@task\ndef {}(): pass\n"
    for rel in ("src/pkg/__init__.py", "src/pkg/sub/__init__.py", "top/__init__.py"):
        write(tmp_path, rel, "")
    write(tmp_path, "src/pkg/sub/mod.py", body.format("a"))
    write(tmp_path, "top/mod.py", body.format("b"))
    write(tmp_path, "tasks.py", body.format("c"))

    result = scan(tmp_path)

    assert {(t.module, t.import_root) for t in result.tasks} == {
        ("pkg.sub.mod", "src"),
        ("top.mod", "."),
        ("tasks", "."),
    }


def test_include_narrows_the_scan(project: Path) -> None:
    result = scan(project, include=["app/", "tasks.py"])

    assert triples(result) == {
        t for t in FIXTURE_TASKS if t[0] in {"tasks", "app.workers", "app.workers.reports"}
    }
    assert result.errors == ()


def test_exclude_adds_to_nuvomignore(project: Path) -> None:
    result = scan(project, exclude=["src/", "aliases.py", "broken.py", "scripts/*.py"])

    assert triples(result) == {t for t in FIXTURE_TASKS if t[0] not in {"mypkg.sub.jobs", "aliases", "cron"}}
    assert result.errors == ()


def test_exclude_glob_matches_at_any_depth(project: Path) -> None:
    result = scan(project, exclude=["reports.py", "__init__.py"])

    assert triples(result) == {t for t in FIXTURE_TASKS if not t[0].startswith("app.")}


def test_nuvomignore_negation_reincludes_a_file(project: Path) -> None:
    (project / ".nuvomignore").write_text("generated/*\n")

    assert ("keep", "kept", "kept") not in triples(scan(project))


def test_syntax_error_does_not_stop_the_scan(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "from nuvom import task\n@task\ndef ok(): pass\n")
    write(tmp_path, "b.py", "x = (\n")
    write(tmp_path, "c.py", "print 'py2'\n")

    result = scan(tmp_path)

    assert triples(result) == {("a", "ok", "ok")}
    assert [(e.path, e.line) for e in result.errors] == [("b.py", 1), ("c.py", 1)]


def test_duplicate_task_names_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "from nuvom import task\n@task(name='same')\ndef one(): pass\n")
    write(tmp_path, "b.py", "from nuvom import task\n\n@task(name='same')\ndef two(): pass\n")

    result = scan(tmp_path)

    assert triples(result) == {("a", "one", "same")}
    assert result.errors == (ScanError("b.py", 4, "duplicate task name 'same': also at a.py:3"),)
