"""The discovery manifest: what the last scan found, per file, so the next scan re-parses only edits.

It lives at ``NUVOM_DATA_DIR/manifest.json``, a JSON object ``{"version": 1, "files": [...]}``.
Each entry holds a file's path relative to the scan root, its size, ``mtime_ns``, ``sha256`` and the
tasks (or the syntax error) found in it. A manifest that cannot be read is rebuilt, never fatal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from ..backends.fsutil import publish

logger = logging.getLogger(__name__)

#: The manifest format written by this version; any other version is rebuilt.
MANIFEST_VERSION: Final = 1
#: The manifest's file name inside ``NUVOM_DATA_DIR``.
MANIFEST_FILE: Final = "manifest.json"


@dataclass(frozen=True)
class DiscoveredTask:
    """A ``@task`` function found by reading source, without importing it."""

    #: The registered name: the literal ``name=`` option, else the function's name.
    name: str
    #: Dotted module name, importable with :attr:`import_root` on ``sys.path``.
    module: str
    #: The function's name in its module.
    function: str
    #: The file, POSIX-style, relative to the scan root.
    path: str
    #: The ``def`` line (1-based; the first decorator's line is not used).
    line: int
    #: True for ``async def``.
    is_async: bool
    #: The folder that must be on ``sys.path``, relative to the scan root (``"."`` or e.g. ``"src"``).
    import_root: str = "."
    #: Literal options from the decorator call; ``None`` when absent or not a literal.
    queue: str | None = None
    retries: int | None = None
    timeout_secs: float | None = None
    tags: tuple[str, ...] | None = None
    description: str | None = None

    @property
    def origin(self) -> str:
        """``module:function``, as :attr:`nuvom.Task.origin` reports it once imported."""
        return f"{self.module}:{self.function}"

    def same_definition(self, other: DiscoveredTask) -> bool:
        """Whether ``other`` has the same module, function and options (lines and paths may differ)."""
        return _definition(self) == _definition(other)


def _definition(t: DiscoveredTask) -> tuple[object, ...]:
    return (t.module, t.function, t.is_async, t.queue, t.retries, t.timeout_secs, t.tags, t.description)


@dataclass(frozen=True)
class ScanError:
    """A file the scan could not use, or a task name defined twice."""

    #: The file, POSIX-style, relative to the scan root.
    path: str
    #: 1-based line, when known.
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class FileEntry:
    """What the manifest remembers about one ``.py`` file."""

    #: POSIX-style, relative to the scan root.
    path: str
    sha256: str
    mtime_ns: int
    size: int
    tasks: tuple[DiscoveredTask, ...] = ()
    #: The syntax (or read) error that made the scan skip this file.
    error: ScanError | None = None


@dataclass(frozen=True)
class Manifest:
    """The files of the last scan, keyed by relative path. An empty manifest means "scan everything"."""

    files: Mapping[str, FileEntry] = field(default_factory=lambda: MappingProxyType({}))
    version: int = MANIFEST_VERSION

    @classmethod
    def from_entries(cls, entries: Iterable[FileEntry]) -> Manifest:
        """Build a manifest from file entries, sorted by path."""
        return cls(MappingProxyType({e.path: e for e in sorted(entries, key=lambda e: e.path)}))

    def tasks(self) -> dict[str, DiscoveredTask]:
        """Every task by name; for a name defined twice, the one in the first file by path."""
        found: dict[str, DiscoveredTask] = {}
        for entry in self.files.values():
            for t in entry.tasks:
                found.setdefault(t.name, t)
        return found

    def to_json(self) -> str:
        """The manifest as JSON text."""
        return json.dumps(
            {"version": self.version, "files": [_entry_to_dict(e) for e in self.files.values()]},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse manifest JSON.

        Raises:
            ValueError: when the text is not JSON, not version :data:`MANIFEST_VERSION`, or malformed.
        """
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}, expected {MANIFEST_VERSION}")
            return cls.from_entries(_entry_from_dict(e) for e in data["files"])
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed manifest: {exc!r}") from None

    @classmethod
    def load(cls, path: Path) -> tuple[Manifest, str | None]:
        """Read the manifest at ``path``; never raises.

        Args:
            path: usually ``settings.data_dir / "manifest.json"``.

        Returns:
            ``(manifest, None)``, or ``(empty manifest, None)`` when there is no file yet, or
            ``(empty manifest, warning)`` when the file is unreadable, corrupt or of an unknown
            version; the warning is also logged, and the next scan rebuilds the manifest.
        """
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(), None
        except OSError as exc:
            return cls(), _warn(path, f"cannot be read ({exc})")
        try:
            return cls.from_json(raw), None
        except ValueError as exc:
            return cls(), _warn(path, str(exc))

    def save(self, path: Path, *, fsync: bool = False) -> None:
        """Write the manifest to ``path`` atomically: readers see the old file or the new one, whole.

        Args:
            path: the target file; its folder is created when missing.
            fsync: also make the write durable before returning.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        publish([(self.to_json().encode("utf-8"), path)], path.parent, fsync=fsync)


def _warn(path: Path, problem: str) -> str:
    message = f"discovery manifest {path} {problem}; rebuilding it with a full scan"
    logger.warning("%s", message)
    return message


def _entry_to_dict(entry: FileEntry) -> dict[str, Any]:
    error = entry.error
    return {
        "path": entry.path,
        "sha256": entry.sha256,
        "mtime_ns": entry.mtime_ns,
        "size": entry.size,
        "tasks": [
            {
                "name": t.name,
                "module": t.module,
                "function": t.function,
                "line": t.line,
                "is_async": t.is_async,
                "import_root": t.import_root,
                "queue": t.queue,
                "retries": t.retries,
                "timeout_secs": t.timeout_secs,
                "tags": None if t.tags is None else list(t.tags),
                "description": t.description,
            }
            for t in entry.tasks
        ],
        "error": None if error is None else {"line": error.line, "message": error.message},
    }


def _typed(value: Any, kind: type | tuple[type, ...]) -> Any:
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{value!r} is not {kind}")
    return value


def _entry_from_dict(data: Mapping[str, Any]) -> FileEntry:
    path = _typed(data["path"], str)
    tasks = []
    for t in data["tasks"]:
        tags = _typed(t.get("tags"), list)
        tasks.append(
            DiscoveredTask(
                name=_typed(t["name"], str),
                module=_typed(t["module"], str),
                function=_typed(t["function"], str),
                path=path,
                line=_typed(t["line"], int),
                is_async=bool(t["is_async"]),
                import_root=_typed(t["import_root"], str),
                queue=_typed(t.get("queue"), str),
                retries=_typed(t.get("retries"), int),
                timeout_secs=_typed(t.get("timeout_secs"), (int, float)),
                tags=None if tags is None else tuple(_typed(tag, str) for tag in tags),
                description=_typed(t.get("description"), str),
            )
        )
    error = data.get("error")
    return FileEntry(
        path=path,
        sha256=_typed(data["sha256"], str),
        mtime_ns=_typed(data["mtime_ns"], int),
        size=_typed(data["size"], int),
        tasks=tuple(tasks),
        error=None
        if error is None
        else ScanError(path, _typed(error["line"], int), _typed(error["message"], str)),
    )


@dataclass(frozen=True)
class ManifestDiff:
    """How the tasks of two manifests differ, by task name; each tuple is sorted by name."""

    added: tuple[DiscoveredTask, ...] = ()
    removed: tuple[DiscoveredTask, ...] = ()
    #: The new version of each task whose module, function or options changed.
    changed: tuple[DiscoveredTask, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff(old: Manifest, new: Manifest) -> ManifestDiff:
    """Compare the tasks of two manifests by task name.

    Args:
        old: the earlier manifest.
        new: the later one.

    Returns:
        Tasks only in ``new`` (added), only in ``old`` (removed), and in both but with a different
        module, function, ``async`` or options (changed). A moved line alone is no change.
    """
    before, after = old.tasks(), new.tasks()
    return ManifestDiff(
        added=tuple(after[n] for n in sorted(after.keys() - before.keys())),
        removed=tuple(before[n] for n in sorted(before.keys() - after.keys())),
        changed=tuple(
            after[n] for n in sorted(after.keys() & before.keys()) if not after[n].same_definition(before[n])
        ),
    )
