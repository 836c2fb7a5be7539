"""docs/plugins/worked-example.md: a third-party-style persistent queue, installed from its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_scaffold import make_env, run

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "examples" / "nuvom-jsonqueue"


def test_the_worked_example_installs_from_its_folder_and_passes_nuvom_plugin_test(tmp_path: Path) -> None:
    python = make_env(tmp_path / "env")
    install = run(
        python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", str(EXAMPLE), cwd=tmp_path
    )
    assert install.returncode == 0, install.stdout + install.stderr

    tested = run(python, "-m", "nuvom", "plugin", "test", "jsonqueue", cwd=tmp_path)

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "queue backend conformance: jsonqueue" in tested.stdout
    # every check that does not need an optional feature it lacks (quarantine, fenced completion,
    # worker registry, purge, depths) runs and passes
    assert "32 passed, 0 failed, 27 skipped" in tested.stdout
    assert "left nothing behind" in tested.stdout
