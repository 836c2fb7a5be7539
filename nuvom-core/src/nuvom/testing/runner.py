"""Run the conformance suite in this process through ``pytest.main`` and report each check.

This is what ``nuvom plugin test`` calls. The run is isolated from the project around it: no
conftest files, ini files or caches (pytest's, Hypothesis's) are read or written there, and
pytest's own output is kept in the report instead of printed.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from ..errors import PluginError
from ..plugins.targets import resolve_target
from .preflight import preflight
from .pytest_plugin import CLEANUP_KEY

Kind = Literal["queue", "result", "scheduler"]
Outcome = Literal["passed", "failed", "skipped"]

KINDS: tuple[Kind, ...] = ("queue", "result", "scheduler")
#: The module holding the suite's collected classes, run by ``--pyargs``.
SUITE_MODULE = "nuvom.testing.suite.test_backends"
_CLASS_OF: dict[Kind, str] = {
    "queue": "TestQueueBackend",
    "result": "TestResultBackend",
    "scheduler": "TestSchedulerBackend",
}
_RANK: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2}


@dataclass
class CheckResult:
    """The outcome of one check."""

    #: The check's test function name, e.g. ``test_ack_removes_the_job_for_good_and_is_idempotent``.
    name: str
    #: The contract sentence it checks (its docstring's first line).
    description: str
    outcome: Outcome = "passed"
    #: First line of the failure message or the skip reason; empty when passed.
    message: str = ""
    #: The full failure report, for ``--verbose``.
    details: str = ""
    duration_secs: float = 0.0


@dataclass
class SuiteReport:
    """Every check of one run, in run order."""

    target: str
    kind: Kind
    #: What the target resolved to, e.g. ``file`` or ``acme.queues:MongoQueue``.
    label: str
    checks: list[CheckResult] = field(default_factory=list)
    #: pytest's exit code.
    exit_code: int = 0
    #: pytest's own terminal output.
    output: str = ""
    duration_secs: float = 0.0
    #: What the run left behind, checked after it: one line for the report.
    cleanup: str = ""
    #: The backend failed a check made before the suite (interface, answers): nothing else ran.
    stopped_early: bool = False

    def by_outcome(self, outcome: Outcome) -> list[CheckResult]:
        """The checks that ended with ``outcome``."""
        return [c for c in self.checks if c.outcome == outcome]

    @property
    def ok(self) -> bool:
        """True when checks ran and none failed."""
        return bool(self.checks) and not self.by_outcome("failed") and self.exit_code in (0, 5)


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, "Skipped: why")
        return _first_line(str(longrepr[2])).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    line = _first_line(text)
    for prefix in ("AssertionError: ", "Failed: "):
        line = line.removeprefix(prefix)
    return line


class _Collector:
    """A pytest plugin object that records each check's outcome."""

    def __init__(self, progress: Callable[[int, int], None] | None = None) -> None:
        self.checks: dict[str, CheckResult] = {}
        self._progress = progress
        self._done = 0
        self.removed = 0
        self.namespaced_checks = 0

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cleanup = session.config.stash.get(CLEANUP_KEY, None)
        if cleanup is not None:
            self.removed, self.namespaced_checks = cleanup.removed, cleanup.namespaced_checks

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        function = getattr(item, "function", None)
        doc = inspect.getdoc(function) if function is not None else None
        self.checks[item.nodeid] = CheckResult(item.name, _first_line(doc or ""))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.checks.pop(item.nodeid, None)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            name = f"collect {report.nodeid or 'suite'}"
            self.checks[name] = CheckResult(
                name, "the suite can be imported", "failed", _message(report), report.longreprtext
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and self._progress is not None:
            self._done += 1
            self._progress(self._done, len(self.checks))
        check = self.checks.setdefault(report.nodeid, CheckResult(report.nodeid, ""))
        check.duration_secs += report.duration
        outcome: Outcome = report.outcome if report.outcome in _RANK else "failed"
        if _RANK[outcome] > _RANK[check.outcome]:  # the first failure wins, then a skip
            check.outcome = outcome
            check.message = _message(report)
            check.details = report.longreprtext if outcome == "failed" else ""


def check_target(target: str, kind: Kind, name: str | None = None) -> str:
    """Resolve ``target`` without running anything; return its label.

    Raises:
        PluginError: when ``target`` names no backend of ``kind``.
    """
    return resolve_target(target, kind, name)[1]


def run_suite(
    target: str,
    kind: Kind,
    name: str | None = None,
    *,
    select: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SuiteReport:
    """Run the ``kind`` conformance suite against ``target`` in this process.

    Args:
        target: a registered backend name, an installed entry point or distribution, or ``module:Class``.
        kind: which suite: ``"queue"`` or ``"result"``.
        name: which backend of an entry point that offers several.
        select: a pytest ``-k`` expression to run only some checks.
        progress: called after each check with the checks done and the checks collected.

    Returns:
        Each check's outcome, and pytest's exit code and output.

    Raises:
        PluginError: when ``target`` names no backend of ``kind`` (nothing runs then).
    """
    build, label = resolve_target(target, kind, name)
    started = time.monotonic()
    stop = preflight(build, kind, label)
    if stop is not None:
        check, why = stop
        return SuiteReport(
            target=target,
            kind=kind,
            label=label,
            checks=[CheckResult(check, f"the {kind} backend is usable before the suite runs", "failed", why)],
            exit_code=1,
            duration_secs=time.monotonic() - started,
            stopped_early=True,
        )
    collector = _Collector(progress)
    output = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="nuvom-suite-") as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = [
            "--pyargs",
            f"{SUITE_MODULE}::{_CLASS_OF[kind]}",
            # the entry point "nuvom" would register this plugin a second time, under another name
            "-p",
            "no:nuvom",
            "-p",
            "nuvom.testing.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "--nuvom-target",
            target,
            "--nuvom-kind",
            kind,
            "-c",
            str(ini),
            "--rootdir",
            scratch,
            "--noconftest",
            "--basetemp",
            str(Path(scratch) / "tmp"),
            "-q",
            "-rfE",
        ]
        if name is not None:
            args += ["--nuvom-name", name]
        if select is not None:
            args += ["-k", select]
        # Hypothesis keeps a cache under the working directory; the user's project is no place for it.
        set_hypothesis_home_dir(Path(scratch) / ".hypothesis")
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                exit_code = pytest.main(args, plugins=[collector])
        finally:
            set_hypothesis_home_dir(None)
    scratch_left = Path(scratch).exists()  # every check's data directory lived under it
    if exit_code not in (0, 1, 5) and not any(c.outcome == "failed" for c in collector.checks.values()):
        collector.checks["pytest"] = CheckResult(
            "pytest", "the suite runs", "failed", f"pytest exited with {exit_code!s}", output.getvalue()
        )
    return SuiteReport(
        target=target,
        kind=kind,
        label=label,
        checks=list(collector.checks.values()),
        exit_code=int(exit_code),
        output=output.getvalue(),
        duration_secs=time.monotonic() - started,
        cleanup=_cleanup_line(collector, scratch_left),
    )


def _cleanup_line(collector: _Collector, scratch_left: bool) -> str:
    if scratch_left:
        return "the checks' data directories could not be removed"
    line = "left nothing behind: each check's data directory is deleted"
    if collector.namespaced_checks:
        line += (
            f"; {collector.removed} entries removed from the server's check namespaces "
            "and a second drop_namespace() found none"
        )
    return line


def kinds_of(target: str, name: str | None = None) -> list[Kind]:
    """The roles ``target`` offers, for a run without ``--kind``.

    A ``module:Class`` target is one class: its role is read from its methods. A name or entry
    point may offer both roles.

    Raises:
        PluginError: when ``target`` names no backend at all.
    """
    if ":" in target:
        from ..plugins.loading import import_target

        try:
            obj = import_target(target)
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"cannot import {target!r}: {type(exc).__name__}: {exc}") from None
        found: list[Kind] = []
        if callable(getattr(obj, "pop_batch", None)):
            found.append("queue")
        if callable(getattr(obj, "get_full", None)):
            found.append("result")
        if callable(getattr(obj, "claim_due", None)):
            found.append("scheduler")
        if not found:
            raise PluginError(
                f"{target} is not a queue backend (no pop_batch), a result backend (no get_full) "
                "or a scheduler store (no claim_due)"
            )
        return found
    found = []
    first_error: PluginError | None = None
    for kind in KINDS:
        try:
            check_target(target, kind, name)
        except PluginError as exc:
            first_error = first_error or exc
            continue
        found.append(kind)
    if not found:
        assert first_error is not None
        raise first_error
    return found
