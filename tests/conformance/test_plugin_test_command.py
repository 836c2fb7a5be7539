"""`nuvom plugin test`: built-in backends pass, broken ones fail naming the check, bad targets are usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from nuvom.cli.plugin import plugin_app

BROKEN = "tests.conformance.broken_backends"


def plugin_test(*args: str):
    return CliRunner().invoke(plugin_app, ["test", *args])


def test_the_memory_backends_pass() -> None:
    result = plugin_test("memory")

    assert result.exit_code == 0, result.output
    assert "queue backend conformance: memory" in result.output
    assert "result backend conformance: memory" in result.output
    assert "FAIL" not in result.output
    assert "Capability.CROSS_PROCESS" in result.output  # skipped by capability, saying why


def test_the_file_backends_pass() -> None:
    result = plugin_test("file")

    assert result.exit_code == 0, result.output
    assert "queue backend conformance: file" in result.output
    assert "result backend conformance: file" in result.output
    # the file queue declares every capability but exact order across clients, has no fenced
    # completion (its three checks are skipped) and reads no record with its claims (two skipped)
    assert "53 passed, 0 failed, 6 skipped" in result.output
    assert "Capability.EXACT_ORDER" in result.output
    assert "19 passed, 0 failed, 0 skipped" in result.output


def test_an_ack_that_ignores_the_lease_token_fails_naming_the_check() -> None:
    result = plugin_test(f"{BROKEN}:LeaseBlindAckFileQueue", "-k", "lost_lease or claimed_job_carries")

    assert result.exit_code == 1, result.output
    assert (
        "FAILED test_ack_of_a_lost_lease_keeps_the_new_holders_job: ack of a lost lease removed"
        in result.output
    )


def test_a_claim_that_is_not_atomic_fails_naming_the_check() -> None:
    result = plugin_test(f"{BROKEN}:RacyClaimMemoryQueue", "--kind", "queue")

    assert result.exit_code == 1, result.output
    assert "FAILED test_claims_are_atomic_across_threads: " in result.output
    assert "claimed more than once by 4 threads" in result.output


def test_a_completion_that_ignores_the_lease_token_fails_naming_the_check(tmp_path) -> None:
    # Given: a suite adopted with a queue whose complete_many ignores lease tokens
    (tmp_path / "test_blind.py").write_text(
        textwrap.dedent(
            f"""
            import pytest
            from nuvom.backends.memory import MemoryResults
            from nuvom.testing.suite import QueueBackendSuite
            from {BROKEN} import LeaseBlindCompletingMemoryQueue

            class TestBlind(QueueBackendSuite):
                @pytest.fixture
                def queue_factory(self):
                    queue = LeaseBlindCompletingMemoryQueue()
                    return lambda: queue

                @pytest.fixture
                def results_factory(self):
                    results = MemoryResults()
                    return lambda: results
            """
        )
    )
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-k",
        "complete_many",
        "test_blind.py",
    ]

    # When
    run = subprocess.run(
        args, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_with_repo_path()
    )

    # Then
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "1 failed" in run.stdout, run.stdout
    assert "a lost lease must not be completed" in run.stdout


def test_k_runs_only_the_matching_checks() -> None:
    result = plugin_test("memory", "--kind", "queue", "-k", "priority")

    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed, 0 skipped" in result.output
    assert "FIFO" in result.output  # the contract sentence of the one check that ran
    assert "5_mb_payload" not in result.output


def test_an_unknown_backend_name_is_a_usage_error() -> None:
    result = plugin_test("no-such-backend")

    assert result.exit_code == 2, result.output
    assert "no-such-backend" in result.output
    assert "memory" in result.output  # what is available


def test_an_unimportable_class_is_a_usage_error() -> None:
    result = plugin_test("no_such_module_here:Queue", "--kind", "queue")

    assert result.exit_code == 2, result.output
    assert "cannot import" in result.output


def test_pytest_runs_the_suite_with_the_plugin_options(tmp_path) -> None:
    # Given: the plugin named on pytest's command line, as the pytest11 entry point would load it
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    args += ["--pyargs", "nuvom.testing.suite", "--nuvom-target", "file", "--nuvom-kind", "result", "-q"]

    # When
    run = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    # Then: only the result checks ran, and passed
    assert run.returncode == 0, run.stdout + run.stderr
    assert "19 passed" in run.stdout and "deselected" in run.stdout, run.stdout


def test_the_plugin_does_nothing_without_its_options(tmp_path) -> None:
    # Given: a project that adopts the suite but defines no backend fixtures
    (tmp_path / "test_adopted.py").write_text(
        textwrap.dedent(
            """
            from nuvom.testing.suite import *  # noqa: F403

            def test_unrelated():
                assert True
            """
        )
    )
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]

    # When
    run = subprocess.run(
        [*args, "-q", "-rs", "test_adopted.py"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )

    # Then: the unrelated test passes and the suite's checks are skipped, saying what is missing
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout, run.stdout
    assert "define a queue_factory fixture or pass --nuvom-target" in run.stdout
    assert "define a results_factory fixture or pass --nuvom-target" in run.stdout


def _with_repo_path() -> dict[str, str]:
    """The environment, with the repository root importable (for ``tests.conformance``)."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
