"""The modules of ``nuvom.worker`` import one another one way: no cycle, function-level imports included."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import nuvom.worker

PACKAGE = Path(nuvom.worker.__file__).parent


def imported_siblings(path: Path) -> set[str]:
    """The modules of ``nuvom.worker`` that ``path`` imports anywhere (``if TYPE_CHECKING:`` too)."""
    siblings = {p.stem for p in PACKAGE.glob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found |= {name.split(".")[0] for name in names} & siblings
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nuvom.worker."):
            found.add(node.module.split(".")[2])
    return found - {"__init__"}


def test_worker_modules_form_no_import_cycle() -> None:
    graph = {p.stem: imported_siblings(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}

    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as cycle:
        raise AssertionError(
            f"import cycle among nuvom.worker modules: {' -> '.join(cycle.args[1])}"
        ) from None
    importers = [name for name, imports in graph.items() if "worker" in imports]
    assert not importers, f"worker.py wires the other modules; none may import it: {importers}"
