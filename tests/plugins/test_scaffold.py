"""`nuvom plugin scaffold` writes a package that, installed in a fresh environment, passes its suite."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuvom.cli.app import app

pytestmark = pytest.mark.slow


def make_env(root: Path) -> Path:
    """A new virtual environment that also sees this one's packages (nuvom-core, pytest, hatchling)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in dict.fromkeys(ours))
    Path(purelib, "zz_parent_env.pth").write_text(lines)
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUVOM_")}
    return subprocess.run(
        [str(python), *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("kind", ["queue", "result", "scheduler"])
def test_a_scaffolded_backend_installs_and_passes_nuvom_plugin_test(tmp_path: Path, kind: str) -> None:
    # Given a package written by the scaffold command
    result = CliRunner().invoke(
        app, ["plugin", "scaffold", f"demo-{kind}", "--kind", kind, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    package = tmp_path / f"nuvom-demo-{kind}"
    assert (package / "pyproject.toml").is_file()

    # When it is pip-installed into a fresh environment
    python = make_env(tmp_path / "env")
    install = run(
        python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", str(package), cwd=tmp_path
    )
    assert install.returncode == 0, install.stdout + install.stderr

    # Then its entry point is found, and the conformance suite passes, by CLI and by its own tests
    listed = run(python, "-m", "nuvom", "plugin", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"entry point (nuvom-demo-{kind} 0.1.0)" in listed.stdout
    shown = run(python, "-m", "nuvom", "config", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    rows = {row["variable"]: row["plugin"] for row in json.loads(shown.stdout)}
    assert rows[f"NUVOM_DEMO_{kind.upper()}_URL"] == f"demo-{kind}", "its settings are not declared"
    tested = run(python, "-m", "nuvom", "plugin", "test", f"demo-{kind}", "--kind", kind, cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " 0 failed" in tested.stdout
    own = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    assert own.returncode == 0, own.stdout + own.stderr


def test_a_scaffolded_monitoring_plugin_is_found_and_its_test_passes(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["plugin", "scaffold", "watch", "--kind", "monitoring", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    python = make_env(tmp_path / "env")
    package = tmp_path / "nuvom-watch"
    install = run(
        python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", str(package), cwd=tmp_path
    )
    assert install.returncode == 0, install.stdout + install.stderr
    own = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    assert own.returncode == 0, own.stdout + own.stderr


def test_scaffold_refuses_a_bad_name_and_an_existing_folder(tmp_path: Path) -> None:
    bad = CliRunner().invoke(
        app, ["plugin", "scaffold", "Bad Name", "--kind", "queue", "--out", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "not valid" in bad.output
    assert (
        CliRunner()
        .invoke(app, ["plugin", "scaffold", "x", "--kind", "queue", "--out", str(tmp_path)])
        .exit_code
        == 0
    )
    again = CliRunner().invoke(app, ["plugin", "scaffold", "x", "--kind", "queue", "--out", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
