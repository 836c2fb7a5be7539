"""The shipped alert rules, unit-tested with ``promtool test rules`` (tests/prometheus/alerts_test.yml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ALERTS

CASES = Path(__file__).parent / "alerts_test.yml"

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)"
)


def promtool(*args: str) -> str:
    done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_shipped_alert_rules_are_valid() -> None:
    assert "SUCCESS: 9 rules found" in promtool("check", "rules", str(ALERTS))


def test_the_alerts_fire_when_they_should_and_a_dead_worker_keeps_firing(tmp_path: Path) -> None:
    # The cases name no rules file: they are run against the packaged one.
    cases = tmp_path / "alerts_test.yml"
    cases.write_text(f"rule_files:\n  - {ALERTS}\n" + CASES.read_text())

    assert "SUCCESS" in promtool("test", "rules", str(cases))
