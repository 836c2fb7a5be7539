"""Find ``@task`` functions by reading source with :mod:`ast`; nothing is imported or run.

A decorator counts only when it resolves, through the file's own imports, to Nuvom's ``task``:
``@task`` / ``@task(...)`` after ``from nuvom import task`` (or ``from nuvom.task import task``, with
any alias), and ``@nuvom.task`` / ``@nv.task(...)`` after ``import nuvom [as nv]``. Only module-level
functions are taken, ``def`` and ``async def``.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .ignore import VENV_MARKER, IgnoreRules
from .manifest import DiscoveredTask, FileEntry, Manifest, ScanError

_NUVOM: Final = "nuvom"
#: Dotted names that are Nuvom's ``task`` decorator.
_TASK_PATHS: Final = frozenset({"nuvom.task", "nuvom.task.task"})
#: Modules that export ``task``.
_TASK_MODULES: Final = frozenset({"nuvom", "nuvom.task"})
_FuncDef = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class ScanResult:
    """What one scan found."""

    #: The scan root, as given.
    root: Path
    #: Every task, sorted by module then line; a duplicated name keeps only its first file's task.
    tasks: tuple[DiscoveredTask, ...]
    #: Files skipped for a syntax or read error, then duplicate task names.
    errors: tuple[ScanError, ...]
    #: The manifest to save and pass as ``previous`` to the next scan.
    manifest: Manifest
    #: ``.py`` files looked at (after pruning and filters).
    scanned_files: int
    #: Files actually parsed; the rest were taken from ``previous`` unchanged.
    parsed_files: int

    def import_roots(self) -> list[Path]:
        """The folders to put on ``sys.path`` to import every task, without repeats."""
        seen = dict.fromkeys(t.import_root for t in self.tasks)
        return [(self.root / r) if r != "." else self.root for r in seen]


def scan(
    root: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    previous: Manifest | None = None,
    on_file: Callable[[str], None] | None = None,
) -> ScanResult:
    """Find the ``@task`` functions under ``root`` without importing anything.

    Args:
        root: the project folder; paths and the ``.nuvomignore`` file are relative to it.
        include: gitignore-style globs; when given, only matching files are scanned.
        exclude: gitignore-style globs of files or folders to skip, on top of ``.nuvomignore``
            and the built-in prunes (VCS folders, caches, virtualenvs, ``node_modules``, build output).
        previous: the last scan's manifest; a file whose size and mtime, or else whose sha256,
            match its entry there is not parsed again.
        on_file: called with each file's relative path once it is scanned (for a progress display).

    Returns:
        The tasks, the errors (a file with a syntax error is skipped and reported, never fatal;
        a task name defined twice is reported at each later definition) and the new manifest.
    """
    rules = IgnoreRules.load(root, include=include, exclude=exclude)
    old = previous.files if previous is not None else {}
    entries: list[FileEntry] = []
    parsed = 0
    for path, rel, import_root, package in _walk(root, rules):
        try:
            st = path.stat()
            before = old.get(rel)
            if before is not None and before.size == st.st_size and before.mtime_ns == st.st_mtime_ns:
                entry = before
            else:
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if before is not None and before.sha256 == digest:
                    entry = dataclasses.replace(before, mtime_ns=st.st_mtime_ns, size=st.st_size)
                else:
                    parsed += 1
                    entry = _parse_file(rel, data, digest, st.st_mtime_ns, st.st_size)
        except OSError as exc:  # vanished or unreadable between listing and reading
            entry = FileEntry(rel, "", 0, -1, error=ScanError(rel, None, f"cannot read: {exc.strerror}"))
        entries.append(_relocate(entry, _module_name(package, path.stem), import_root))
        if on_file is not None:
            on_file(rel)
    manifest = Manifest.from_entries(entries)
    tasks, errors = _collect(manifest)
    return ScanResult(root, tasks, errors, manifest, len(entries), parsed)


def _walk(root: Path, rules: IgnoreRules) -> Iterator[tuple[Path, str, str, tuple[str, ...]]]:
    """Yield ``(path, rel, import_root, package parts)`` for each ``.py`` file, sorted, pruning as we go.

    The package of a folder comes from walking up ``__init__.py`` files; the first folder up without
    one is the import root (so ``src/`` in a src layout never enters a module name).
    """
    stack: list[tuple[Path, str, str, tuple[str, ...]]] = [(root, "", ".", ())]
    while stack:
        folder, rel_dir, import_root, package = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        names = {e.name for e in items}
        if rel_dir and VENV_MARKER in names:
            continue
        if rel_dir and "__init__.py" in names:
            package = (*package, folder.name)
        else:
            import_root, package = (rel_dir or "."), ()
        subdirs = []
        for entry in items:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if not rules.prunes_dir(rel, entry.name):
                    subdirs.append((Path(entry.path), rel, import_root, package))
            elif entry.name.endswith(".py") and entry.is_file() and not rules.skips_file(rel):
                yield Path(entry.path), rel, import_root, package
        stack.extend(reversed(subdirs))


def _module_name(package: tuple[str, ...], stem: str) -> str:
    if stem == "__init__" and package:
        return ".".join(package)
    return ".".join((*package, stem))


def _relocate(entry: FileEntry, module: str, import_root: str) -> FileEntry:
    """Give cached tasks the module name of the current layout (an ``__init__.py`` may have appeared)."""
    if all(t.module == module and t.import_root == import_root for t in entry.tasks):
        return entry
    tasks = tuple(dataclasses.replace(t, module=module, import_root=import_root) for t in entry.tasks)
    return dataclasses.replace(entry, tasks=tasks)


def _collect(manifest: Manifest) -> tuple[tuple[DiscoveredTask, ...], tuple[ScanError, ...]]:
    errors = [e.error for e in manifest.files.values() if e.error is not None]
    first: dict[str, DiscoveredTask] = {}
    for entry in manifest.files.values():
        for t in entry.tasks:
            seen = first.setdefault(t.name, t)
            if seen is not t:
                errors.append(
                    ScanError(
                        t.path, t.line, f"duplicate task name {t.name!r}: also at {seen.path}:{seen.line}"
                    )
                )
    tasks = sorted(first.values(), key=lambda t: (t.module, t.line))
    return tuple(tasks), tuple(errors)


def _parse_file(rel: str, data: bytes, digest: str, mtime_ns: int, size: int) -> FileEntry:
    """Parse one file's source into a :class:`FileEntry`; a syntax error becomes the entry's error."""
    try:
        tree = ast.parse(data, filename=rel)
    except SyntaxError as exc:
        error = ScanError(rel, exc.lineno, f"syntax error: {exc.msg}")
        return FileEntry(rel, digest, mtime_ns, size, error=error)
    except ValueError as exc:  # e.g. null bytes in the source
        return FileEntry(rel, digest, mtime_ns, size, error=ScanError(rel, None, str(exc)))
    # The module name and import root are filled in by the caller, which knows the layout.
    tasks = tuple(_task_record(rel, func, call) for func, call in _find_tasks(tree.body, {}))
    return FileEntry(rel, digest, mtime_ns, size, tasks=tasks)


#: What a name in a module is bound to: Nuvom's ``task`` function, or a Nuvom module by dotted name.
_Bindings = dict[str, str]
_TASK: Final = "<task>"


def _find_tasks(body: list[ast.stmt], names: _Bindings) -> Iterator[tuple[_FuncDef, ast.Call | None]]:
    """Yield each module-level task function with its decorator call, following bindings in order.

    Statements nested in ``if`` / ``try`` / ``with`` at module level still run at import time, so they
    are followed too; function and class bodies are not (methods are never tasks).
    """
    for stmt in body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname is not None:
                    _bind(names, alias.asname, alias.name if alias.name in _TASK_MODULES else None)
                else:
                    top = alias.name.partition(".")[0]
                    _bind(names, top, top if top == _NUVOM else None)
        elif isinstance(stmt, ast.ImportFrom):
            from_nuvom = stmt.level == 0 and stmt.module in _TASK_MODULES
            for alias in stmt.names:
                if alias.name == "*":
                    if from_nuvom:
                        names["task"] = _TASK
                    continue
                target = _TASK if from_nuvom and alias.name == "task" else None
                _bind(names, alias.asname or alias.name, target)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in stmt.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                if _is_task(call.func if call is not None else decorator, names):
                    yield stmt, call
                    break
            names.pop(stmt.name, None)
        elif isinstance(stmt, ast.ClassDef):
            names.pop(stmt.name, None)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target_node in targets:
                for node in ast.walk(target_node):
                    if isinstance(node, ast.Name):
                        names.pop(node.id, None)
        elif isinstance(stmt, ast.If):
            yield from _find_tasks(stmt.body, names)
            yield from _find_tasks(stmt.orelse, names)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _find_tasks(stmt.body, names)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in ("body", "orelse", "finalbody"):
                yield from _find_tasks(getattr(stmt, block), names)
            for handler in getattr(stmt, "handlers", []):
                yield from _find_tasks(handler.body, names)


def _bind(names: _Bindings, name: str, target: str | None) -> None:
    if target is None:
        names.pop(name, None)
    else:
        names[name] = target


def _is_task(node: ast.expr, names: _Bindings) -> bool:
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in names:
        return False
    bound = names[node.id]
    if not attrs:
        return bound == _TASK
    return bound != _TASK and ".".join((bound, *reversed(attrs))) in _TASK_PATHS


def _literal(call: ast.Call | None, option: str) -> object:
    if call is None:
        return None
    for keyword in call.keywords:
        if keyword.arg == option:
            try:
                return ast.literal_eval(keyword.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None
    return None


def _task_record(rel: str, func: _FuncDef, call: ast.Call | None) -> DiscoveredTask:
    name = _literal(call, "name")
    queue = _literal(call, "queue")
    retries = _literal(call, "retries")
    timeout = _literal(call, "timeout_secs")
    tags = _literal(call, "tags")
    description = _literal(call, "description")
    if isinstance(tags, str):
        tags = (tags,)
    elif isinstance(tags, (list, tuple)) and all(isinstance(tag, str) for tag in tags):
        tags = tuple(tags)
    else:
        tags = None
    return DiscoveredTask(
        name=name if isinstance(name, str) else func.name,
        module="",
        function=func.name,
        path=rel,
        line=func.lineno,
        is_async=isinstance(func, ast.AsyncFunctionDef),
        queue=queue if isinstance(queue, str) else None,
        retries=retries if isinstance(retries, int) and not isinstance(retries, bool) else None,
        timeout_secs=float(timeout)
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
        else None,
        tags=tags,
        description=description if isinstance(description, str) else None,
    )
