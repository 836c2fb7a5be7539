"""The fixture project under ``project/`` is scanned as data, never collected or imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

collect_ignore = ["project"]

PROJECT = Path(__file__).parent / "project"

#: Files the scan must never see: each holds a valid task that would show up if it were scanned.
#: They are written at test time because the repository's .gitignore drops these folders.
PRUNED_FILES = (
    ".venv/lib/site_tasks.py",
    "myenv/lib/site_tasks.py",  # a virtualenv found by its pyvenv.cfg, not by its name
    "venv/tasks.py",
    "node_modules/pkg/tasks.py",
    "build/lib/tasks.py",
    "dist/tasks.py",
    "mypkg.egg-info/tasks.py",
    "__pycache__/tasks.py",
    ".git/hooks/tasks.py",
    ".tox/py311/tasks.py",
)
PRUNED_TASK = "from nuvom import task\n\n\n@task\ndef must_not_be_found():\n    pass\n"

#: A syntax error on line 4, also written at test time so linters never read it.
BROKEN = "from nuvom import task\n\n\ndef oops(:\n    pass\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the fixture project, with the pruned folders and the broken file added."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    for rel in PRUNED_FILES:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PRUNED_TASK)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "broken.py").write_text(BROKEN)
    return root
