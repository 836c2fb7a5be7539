"""What ``import nuvom`` costs: the layers above the API are loaded only by those who use them."""

from __future__ import annotations

import subprocess
import sys


def test_import_nuvom_loads_no_worker_testing_or_cli_module() -> None:
    probe = (
        "import sys, nuvom; "
        "print(sorted(m for m in sys.modules if m.startswith(('nuvom.worker', 'nuvom.testing', 'nuvom.cli'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
