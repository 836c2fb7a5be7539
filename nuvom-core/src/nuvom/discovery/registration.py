"""From the manifest to registered tasks: refresh it, then import each module by its real name."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .manifest import MANIFEST_FILE, Manifest, ManifestDiff, diff
from .scanner import ScanResult, scan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refresh:
    """A rescan against the saved manifest: what was found, and what changed."""

    result: ScanResult
    changes: ManifestDiff
    #: The manifest did not exist, or could not be read, before.
    rebuilt: bool


def refresh_manifest(
    root: Path,
    data_dir: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    on_file: Callable[[str], None] | None = None,
) -> Refresh:
    """Rescan ``root`` (parsing only files changed since the saved manifest) and save the manifest.

    ``on_file`` is called with each scanned file's relative path (see :func:`scan`).
    """
    path = data_dir / MANIFEST_FILE
    previous, warning = Manifest.load(path)
    rebuilt = warning is not None or not path.exists()
    result = scan(root, include=include, exclude=exclude, previous=previous, on_file=on_file)
    data_dir.mkdir(parents=True, exist_ok=True)
    result.manifest.save(path)
    for error in result.errors:
        line = f":{error.line}" if error.line else ""
        logger.warning("discovery skipped %s%s: %s", error.path, line, error.message)
    return Refresh(result, diff(previous, result.manifest), rebuilt)


def import_discovered(result: ScanResult) -> list[tuple[str, str]]:
    """Import every module holding a discovered task, once, by its real module name.

    The import roots (the project root, or its ``src/``) go first on ``sys.path``. A module that
    fails to import is returned as ``(module, error)`` and the others are still imported.
    """
    for folder in reversed(result.import_roots()):
        entry = str(folder.resolve())
        if entry not in sys.path:
            sys.path.insert(0, entry)
    failures = []
    for module in sorted({task.module for task in result.tasks}):
        try:
            importlib.import_module(module)
        except Exception as exc:
            failures.append((module, f"{type(exc).__name__}: {exc}"))
    return failures
