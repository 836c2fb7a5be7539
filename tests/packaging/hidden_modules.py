"""Run Python in a subprocess where some modules cannot be imported, as on a platform without them.

A ``sitecustomize`` on ``PYTHONPATH`` puts a finder first on ``sys.meta_path`` that refuses the
modules named in ``NUVOM_TEST_HIDDEN_MODULES`` (ahead of the built-in and extension importers),
so ``import fcntl`` fails there the way it does on Windows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

SITECUSTOMIZE = """
import importlib.abc
import os
import sys

_HIDDEN = set(os.environ["NUVOM_TEST_HIDDEN_MODULES"].split(","))


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)", name=name)
        return None


sys.meta_path.insert(0, _Hide())
"""


def run_without(
    modules: Sequence[str], args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in ``cwd`` with ``modules`` unimportable; capture its output."""
    site = cwd / "hide-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NUVOM_")}
    environ |= {
        "PYTHONPATH": os.pathsep.join([str(site), str(cwd)]),
        "NUVOM_TEST_HIDDEN_MODULES": ",".join(modules),
        "NUVOM_DATA_DIR": str(cwd / ".nuvom"),
    }
    environ |= env or {}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60
    )
