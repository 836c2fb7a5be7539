"""The CLI says so when the original Nuvom (distribution ``nuvom``) is installed beside nuvom-core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nuvom.version import __version__


def run_cli(*args: str, path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUVOM_")}
    env |= {"PYTHONPATH": str(path), "NUVOM_DATA_DIR": str(path / ".nuvom")}
    return subprocess.run(
        [sys.executable, "-m", "nuvom", *args], cwd=path, env=env, capture_output=True, text=True, timeout=60
    )


def install_old_nuvom(site: Path, version: str = "0.11.2") -> None:
    """A real (metadata-only) ``nuvom`` distribution, as pip leaves it, on a directory of sys.path."""
    dist_info = site / f"nuvom-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nuvom\nVersion: {version}\n")
    (dist_info / "INSTALLER").write_text("pip\n")


def test_cli_names_the_old_distribution_and_the_fix(tmp_path: Path) -> None:
    # Given: the original Nuvom's distribution is installed on the path
    install_old_nuvom(tmp_path)
    # When
    proc = run_cli("version", path=tmp_path)
    # Then: the command still runs, and one line on stderr says what is wrong and how to fix it
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"nuvom {__version__}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "'nuvom' 0.11.2" in lines[0]
    assert "pip uninstall -y nuvom nuvom-core && pip install nuvom-core" in lines[0]


def test_cli_says_nothing_without_the_old_distribution(tmp_path: Path) -> None:
    proc = run_cli("version", path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
