"""Which folders and files a scan skips: built-in prunes, ``.nuvomignore``, include and exclude globs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pathspec

#: The ignore file read from the scan root, in gitignore syntax (``!`` re-includes).
IGNORE_FILE: Final = ".nuvomignore"

#: Folder names never descended into: VCS data, caches, virtualenvs, dependencies and build output.
PRUNED_DIR_NAMES: Final = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)

#: Folder name suffixes never descended into.
PRUNED_DIR_SUFFIXES: Final = (".egg-info",)

#: A folder holding this file is a virtualenv and is never descended into.
VENV_MARKER: Final = "pyvenv.cfg"


def _spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec | None:
    patterns = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


@dataclass(frozen=True)
class IgnoreRules:
    """The scan's filters. Paths are POSIX-style and relative to the scan root."""

    #: ``.nuvomignore`` followed by the ``exclude`` globs; ``None`` when there are none.
    excluded: pathspec.GitIgnoreSpec | None = None
    #: The ``include`` globs; ``None`` means every file is included.
    included: pathspec.GitIgnoreSpec | None = None

    @classmethod
    def load(cls, root: Path, *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> IgnoreRules:
        """Build the rules for ``root`` from its ``.nuvomignore`` and the given globs.

        Args:
            root: the scan root; ``root/.nuvomignore`` is read when present.
            include: gitignore-style globs; when given, only files they match are scanned.
            exclude: gitignore-style globs, applied after ``.nuvomignore``.

        Returns:
            The rules. A missing or unreadable ``.nuvomignore`` counts as empty.
        """
        try:
            lines = (root / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        return cls(excluded=_spec([*lines, *exclude]), included=_spec(include))

    def prunes_dir(self, rel: str, name: str) -> bool:
        """Whether the folder at ``rel`` (named ``name``) is skipped with everything inside it."""
        if name in PRUNED_DIR_NAMES or name.endswith(PRUNED_DIR_SUFFIXES):
            return True
        return self.excluded is not None and self.excluded.match_file(rel + "/")

    def skips_file(self, rel: str) -> bool:
        """Whether the file at ``rel`` is left out of the scan."""
        if self.excluded is not None and self.excluded.match_file(rel):
            return True
        return self.included is not None and not self.included.match_file(rel)
