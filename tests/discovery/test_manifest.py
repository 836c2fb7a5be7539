"""The manifest: incremental rescans, diffs, atomic save and load, and rebuilding a bad file."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from nuvom.discovery import MANIFEST_FILE, DiscoveredTask, Manifest, ManifestDiff, diff, scan
from nuvom.discovery.manifest import MANIFEST_VERSION

TASK = "from nuvom import task\n\n\n@task{opts}\ndef {name}():\n    pass\n"


def write(root: Path, rel: str, name: str, opts: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TASK.format(name=name, opts=opts))
    return path


def names(tasks: tuple[DiscoveredTask, ...]) -> set[str]:
    return {t.name for t in tasks}


def test_rescan_parses_only_edited_files(tmp_path: Path) -> None:
    # Given a scanned project
    root = tmp_path / "proj"
    for i in range(5):
        write(root, f"m{i}.py", f"t{i}")
    first = scan(root)
    assert (first.scanned_files, first.parsed_files) == (5, 5)

    # When nothing changed, nothing is parsed
    again = scan(root, previous=first.manifest)
    assert (again.scanned_files, again.parsed_files) == (5, 0)
    assert again.tasks == first.tasks
    assert again.manifest == first.manifest

    # When one file is edited, only it is parsed
    write(root, "m1.py", "t1", opts="(queue='other')")
    edited = scan(root, previous=again.manifest)
    assert edited.parsed_files == 1
    assert {t.name: t.queue for t in edited.tasks}["t1"] == "other"


def test_touched_but_identical_file_is_not_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, "m.py", "t")
    first = scan(tmp_path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    again = scan(tmp_path, previous=first.manifest)

    assert again.parsed_files == 0
    assert again.manifest.files["m.py"].mtime_ns == st.st_mtime_ns + 1_000_000_000


def test_same_size_edit_with_new_mtime_is_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, "m.py", "aaa")
    first = scan(tmp_path)
    st = path.stat()
    write(tmp_path, "m.py", "bbb")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))

    again = scan(tmp_path, previous=first.manifest)

    assert again.parsed_files == 1
    assert names(again.tasks) == {"bbb"}


def test_rescan_drops_deleted_and_adds_new_files_and_diff_reports_it(tmp_path: Path) -> None:
    # Given
    write(tmp_path, "keep.py", "kept")
    write(tmp_path, "gone.py", "removed_task")
    write(tmp_path, "edit.py", "edited", opts="(retries=1)")
    write(tmp_path, "moves.py", "moving")
    old = scan(tmp_path)

    # When
    (tmp_path / "gone.py").unlink()
    write(tmp_path, "new.py", "added_task")
    write(tmp_path, "edit.py", "edited", opts="(retries=5)")
    (tmp_path / "moves.py").write_text("# a comment moves the line\n" + TASK.format(name="moving", opts=""))
    new = scan(tmp_path, previous=old.manifest)

    # Then
    assert new.parsed_files == 3
    assert names(new.tasks) == {"kept", "edited", "moving", "added_task"}
    changes = diff(old.manifest, new.manifest)
    assert names(changes.added) == {"added_task"}
    assert names(changes.removed) == {"removed_task"}
    assert names(changes.changed) == {"edited"}  # a moved line alone is no change
    assert [t.retries for t in changes.changed] == [5]
    assert diff(new.manifest, new.manifest) == ManifestDiff()
    assert not diff(new.manifest, new.manifest)


def test_diff_sees_a_task_moving_to_another_module(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "t")
    old = scan(tmp_path)
    (tmp_path / "a.py").rename(tmp_path / "b.py")

    changes = diff(old.manifest, scan(tmp_path, previous=old.manifest).manifest)

    assert (names(changes.added), names(changes.removed)) == (set(), set())
    assert [t.module for t in changes.changed] == ["b"]


def test_cached_tasks_follow_a_new_package_layout(tmp_path: Path) -> None:
    write(tmp_path, "pkg/jobs.py", "t")
    first = scan(tmp_path)
    assert [t.module for t in first.tasks] == ["jobs"]
    (tmp_path / "pkg" / "__init__.py").write_text("")

    again = scan(tmp_path, previous=first.manifest)

    assert [(t.module, t.import_root) for t in again.tasks] == [("pkg.jobs", ".")]
    assert again.parsed_files == 1  # only the new __init__.py


def test_syntax_error_is_remembered_and_reported_again(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n")
    first = scan(tmp_path)

    again = scan(tmp_path, previous=first.manifest)

    assert again.parsed_files == 0
    assert again.errors == first.errors
    assert [(e.path, e.line) for e in again.errors] == [("bad.py", 1)]


def test_save_load_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, "a.py", "a", opts="(queue='q', retries=2, timeout_secs=1.5, tags=['x'], description='d')")
    write(root, "src/pkg/__init__.py", "b")
    (root / "bad.py").write_text("(\n")
    manifest = scan(root).manifest
    path = tmp_path / "data" / MANIFEST_FILE

    manifest.save(path)
    loaded, warning = Manifest.load(path)

    assert warning is None
    assert loaded == manifest
    assert json.loads(path.read_text())["version"] == MANIFEST_VERSION
    assert [p.name for p in path.parent.iterdir()] == [MANIFEST_FILE]  # no temp file left behind
    assert scan(root, previous=loaded).parsed_files == 0


def test_save_replaces_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_FILE
    write(tmp_path / "p", "a.py", "a")
    scan(tmp_path / "p").manifest.save(path, fsync=True)

    Manifest().save(path)

    assert Manifest.load(path) == (Manifest(), None)


def test_missing_manifest_is_empty_without_warning(tmp_path: Path) -> None:
    assert Manifest.load(tmp_path / "nope.json") == (Manifest(), None)


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"\xff\xfe",
        b"[]",
        b'{"version": 2, "files": []}',
        b'{"files": []}',
        b'{"version": 1}',
        b'{"version": 1, "files": [{"path": "a.py"}]}',
        b'{"version": 1, "files": [{"path": 1, "sha256": "", "mtime_ns": 0, "size": 0, "tasks": []}]}',
    ],
)
def test_bad_manifest_is_rebuilt_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / MANIFEST_FILE
    path.write_bytes(content)

    with caplog.at_level(logging.WARNING, logger="nuvom.discovery.manifest"):
        manifest, warning = Manifest.load(path)

    assert manifest == Manifest()
    assert warning is not None and str(path) in warning
    assert [r.getMessage() for r in caplog.records] == [warning]


def test_unknown_version_warning_names_the_version(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_FILE
    path.write_text('{"version": 99, "files": []}')

    _, warning = Manifest.load(path)

    assert warning is not None and "99" in warning
